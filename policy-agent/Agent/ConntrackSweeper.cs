using System.Net;
using CniEgress.Netlink.Conntrack;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>When a policy tightens, connections it already let through stay in conntrack and
/// would keep passing the established fast path. A sweep marks every tracked connection opened by
/// an isolated local pod that its class no longer allows (<see cref="Nftables.EgressRuleset.DeniedFlowMark"/>):
/// its packets then skip the fast path, meet the class chain and are dropped. Deleting the entry
/// would not do: conntrack picks the flow up again from the server's next packet, with the pod
/// as the replying side, and replies pass. Allowed flows, and connections made to the pods, are left alone.</summary>
public static class ConntrackSweeper
{
    public static int Sweep(DesiredDataplane desired, IEnumerable<ConntrackFlow> flows, Func<ConntrackFlow, bool> stop)
    {
        var classOfSource = new Dictionary<IPAddress, string>();
        foreach (var source in desired.PodSources)
            if (desired.ClassOfInterface.TryGetValue(source.HostInterface, out string? id)) classOfSource[source.Address] = id;
        if (classOfSource.Count == 0) return 0;
        var matchers = new Dictionary<string, ClassMatcher>(StringComparer.Ordinal);
        int stopped = 0;
        foreach (var flow in flows)
        {
            if (!classOfSource.TryGetValue(flow.Source, out string? id)) continue;
            if (!matchers.TryGetValue(id, out var matcher)) matchers[id] = matcher = new ClassMatcher(desired.Classes[id]);
            if (!matcher.Allows(flow.Destination, flow.Protocol, flow.DestinationPort) && stop(flow)) stopped++;
        }
        return stopped;
    }
}
