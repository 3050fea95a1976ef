using CniEgress.Netlink.Route;
using CniEgress.PolicyAgent.Nftables;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>Deletes a pod's host veth for the plugin's DEL and answers once the kernel has removed
/// it, one RCU grace period (~20 ms) before the kernel's deletion request returns (see
/// <see cref="LinkRemoval"/>). A plugin process cannot exit while one of its threads waits in that
/// request, so DEL returns that much sooner when the agent, which lives on, does the waiting.
/// Only pod interfaces (the plugin's prefix, the ones the ruleset matches) are deleted.</summary>
public sealed class HostLinkDeleter(AgentMetrics metrics, Action<string> log)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private static readonly string Prefix = NftRuleset.PodInterfacePattern.TrimEnd('*');

    /// <returns>null once the link is gone (or was never there), else why it may not be.</returns>
    public string? Delete(string name)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            return $"'{name}' is not a pod's host interface (those start with {Prefix})";
        try
        {
            if (LinkRemoval.Delete(name, Timeout) != LinkRemoval.Outcome.NoSuchLink) metrics.HostLinkDeleted();
            return null;
        }
        catch (Exception e)
        {
            // Anything at all: this runs on a thread of its own, where an escaping exception would end the agent.
            log($"deleting {name} for a CNI DEL failed (the plugin deletes it itself): {e.Message}");
            return e.Message;
        }
    }
}
