using System.Net;
using CniEgress.Netlink.Conntrack;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>When a policy tightens, connections it already let through stay in conntrack and
/// would keep passing the established fast path. A sweep marks every tracked connection that an
/// isolated local pod's egress class no longer lets out, or an isolated local pod's ingress class
/// no longer lets in (<see cref="Nftables.NftRuleset.DeniedFlowMark"/>): its packets then skip the
/// fast path, meet the class chain and are dropped. Deleting the entry would not do: conntrack
/// picks the flow up again from the other side's next packet, and replies pass. Allowed flows are
/// left alone.</summary>
public static class ConntrackSweeper
{
    public static int Sweep(DesiredDataplane desired, IEnumerable<ConntrackFlow> flows, Func<ConntrackFlow, bool> stop)
    {
        var egressOf = ClassByAddress(desired, desired.ClassOfInterface);
        var ingressOf = ClassByAddress(desired, desired.Ingress.ClassOfInterface);
        if (egressOf.Count == 0 && ingressOf.Count == 0) return 0;
        var egress = new Dictionary<string, ClassMatcher>(StringComparer.Ordinal);
        var ingress = new Dictionary<string, ClassMatcher>(StringComparer.Ordinal);
        int stopped = 0;
        foreach (var flow in flows)
        {
            bool denied = egressOf.TryGetValue(flow.Source, out string? id)
                && !Matcher(egress, desired.Classes, id).Allows(flow.Destination, flow.Protocol, flow.DestinationPort);
            denied = denied || (ingressOf.TryGetValue(flow.Destination, out id)
                && !Matcher(ingress, desired.Ingress.Classes, id).Allows(flow.Source, flow.Protocol, flow.DestinationPort));
            if (denied && stop(flow)) stopped++;
        }
        return stopped;
    }

    /// <summary>Each address of an isolated local pod, with its class on one side.</summary>
    private static Dictionary<IPAddress, string> ClassByAddress(DesiredDataplane desired, IReadOnlyDictionary<string, string> classOf)
    {
        var byAddress = new Dictionary<IPAddress, string>();
        foreach (var source in desired.PodSources)
            if (classOf.TryGetValue(source.HostInterface, out string? id)) byAddress[source.Address] = id;
        return byAddress;
    }

    private static ClassMatcher Matcher(Dictionary<string, ClassMatcher> cache, IReadOnlyDictionary<string, PolicyClass> classes, string id)
    {
        if (!cache.TryGetValue(id, out var matcher)) cache[id] = matcher = new ClassMatcher(classes[id]);
        return matcher;
    }
}
