using System.Text.Json.Nodes;
using CniEgress.PolicyAgent.Diagnostics;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>Where the CLI's questions go: the running agent when it answers on its socket;
/// otherwise the same questions are answered here, offline (<see cref="OfflineView"/>), and
/// <see cref="Offline"/> says why, so every command can tell the operator.</summary>
public sealed class NodeAccess(string stateDir, string? manifests)
{
    private NodeView? offlineView;
    private bool? agentAnswers;

    public string SocketPath => Path.Combine(stateDir, "agent.sock");

    public string StateDir => stateDir;

    /// <summary>Why the answers are computed here; null while the agent answers.</summary>
    public string? Offline { get; private set; }

    /// <summary>True when policy names and rules are known (the agent, or --manifests).</summary>
    public bool KnowsPolicies => agentAnswers == true || manifests != null;

    public JsonObject Ask(JsonObject question)
    {
        if (agentAnswers != false)
        {
            var answer = AgentClient.Ask(SocketPath, question, out string? why);
            if (answer != null)
            {
                agentAnswers = true;
                return answer;
            }
            agentAnswers = false;
            Offline = $"the agent is not answering ({why})";
        }
        offlineView ??= OfflineView.From(manifests, stateDir, Offline!);
        return NodeQueries.Answer(question, offlineView).Complete(new Nftables.NftCommand("nft").ReadTable);
    }
}
