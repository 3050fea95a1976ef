using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Puts a desired state into the kernel through an executor: a full sync deletes the
/// class chains the desired state no longer has, in the same transaction that rewrites the rest.</summary>
public sealed class EgressDataplane(INftExecutor executor, EgressRuleset.Options? options = null)
{
    public void FullSync(DesiredDataplane desired)
    {
        var wanted = desired.Classes.Keys.Select(EgressRuleset.ChainOf).ToHashSet(StringComparer.Ordinal);
        var stale = executor.ListChains().Where(c => c.StartsWith("egress-", StringComparison.Ordinal) && !wanted.Contains(c));
        executor.Apply(EgressRuleset.FullSync(desired, stale, options));
    }
}
