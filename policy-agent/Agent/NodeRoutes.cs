using System.Net;
using System.Net.Sockets;
using CniEgress.Netlink;
using CniEgress.Netlink.Route;
using CniEgress.PolicyAgent.Sources;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>Direct routing between nodes on one L2 segment, as kindnet does: every other node's
/// pod CIDRs via that node's InternalIP of the same family. Our routes carry our own protocol
/// number (<see cref="Protocol"/>), so the agent finds them again after a restart and never
/// touches a route it did not add. A node whose address is not on a directly connected network
/// (the kernel refuses the gateway) or that gives no address of a CIDR's family is reported, not
/// silently broken; reaching it would take an overlay or BGP.</summary>
/// <param name="report">Said once per problem, with the node it is about (a Warning Event in API mode).</param>
public sealed class NodeRoutes(string nodeName, Func<RouteNetlinkClient> open, Action<string> log, Action<string, string>? report = null)
{
    /// <summary>rtm_protocol of our routes (`ip route show proto 206`).</summary>
    public const byte Protocol = 206;

    private IReadOnlyDictionary<string, NodeState>? applied;
    private HashSet<string> reported = new(StringComparer.Ordinal);

    /// <summary>Nodes whose pod CIDRs have no route from here, each with why.</summary>
    public IReadOnlyList<string> Unreachable { get; private set; } = [];

    /// <summary>Deletes every route of ours (`egress-agent cleanup`); how many there were.</summary>
    public static int RemoveAll(RouteNetlinkClient client)
    {
        int removed = 0;
        foreach (var route in Ours(client))
        {
            try { client.DeleteRoute(route); removed++; }
            catch (NetlinkNotFoundException) { }
        }
        return removed;
    }

    private static List<RouteSpec> Ours(RouteNetlinkClient client) =>
        [.. new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 }.SelectMany(f => client.ListRoutes(f)).Where(r => r.Protocol == Protocol)];

    /// <summary>Brings our routes to <paramref name="nodes"/>; nothing when they are the nodes last applied.</summary>
    public void Sync(IReadOnlyDictionary<string, NodeState> nodes)
    {
        if (ReferenceEquals(nodes, applied)) return;
        var wanted = new Dictionary<IPNetwork, (string Node, IPAddress? Gateway)>();
        var problems = new List<(string Node, string Problem)>();
        foreach (var node in nodes.Values.Where(n => n.Name != nodeName).OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            foreach (var cidr in node.PodCidrs)
            {
                var gateway = node.InternalIPs.FirstOrDefault(a => a.AddressFamily == cidr.BaseAddress.AddressFamily);
                if (gateway == null) problems.Add((node.Name, $"no InternalIP of the family of its pod CIDR {cidr}"));
                else wanted.TryAdd(cidr, (node.Name, gateway));
            }
        }
        using var client = open();
        var ours = Ours(client);
        foreach (var route in ours)
        {
            if (wanted.TryGetValue(route.Destination, out var want) && Equals(want.Gateway, route.Gateway)) continue;
            try { client.DeleteRoute(route); }
            catch (NetlinkNotFoundException) { }
        }
        int failed = 0;
        foreach (var (cidr, (node, gateway)) in wanted)
        {
            if (ours.Any(r => r.Destination.Equals(cidr) && Equals(r.Gateway, gateway))) continue;
            try
            {
                client.AddRoute(new RouteSpec(cidr, 0, gateway, Protocol: Protocol));
            }
            catch (NetlinkAlreadyExistsException)
            {
                failed++;
                problems.Add((node, $"a route to its pod CIDR {cidr} exists and is not ours; left alone"));
            }
            catch (NetlinkException e)
            {
                failed++;
                problems.Add((node, $"its address {gateway} is not on a directly connected network, so its pods ({cidr}) are unreachable from here without an overlay or BGP ({e.Message})"));
            }
        }
        var said = problems.Select(p => $"node {p.Node}: {p.Problem}").ToList();
        foreach (var (node, problem) in problems.Where(p => !reported.Contains($"node {p.Node}: {p.Problem}")))
        {
            log($"routes: node {node}: {problem}");
            report?.Invoke(node, problem);
        }
        reported = said.ToHashSet(StringComparer.Ordinal);
        Unreachable = said;
        applied = nodes;
        log($"routes: {wanted.Count - failed} pod CIDR(s) of {nodes.Count(n => n.Key != nodeName)} other node(s) routed directly");
    }
}
