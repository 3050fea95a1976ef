using CniEgress.Tests.Infrastructure;
using Xunit;
using static CniEgress.Tests.Infrastructure.MultiNodeCluster;

namespace CniEgress.Tests.Cluster;

/// <summary>Three nodes on one segment, each with its agent and pods wired by the plugin: pods
/// reach each other across nodes with their own addresses, and policies hold across nodes.</summary>
public class MultiNodeTests
{
    private static Dictionary<string, string> App(string name) => new() { ["app"] = name };

    /// <summary>Pod a (team-a) may open connections to app=b pods only.</summary>
    private const string AToBOnly = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: a-to-b-only, namespace: team-a}
            spec:
              podSelector: {matchLabels: {app: a}}
              policyTypes: [Egress]
              egress:
              - to: [{podSelector: {matchLabels: {app: b}}}]

            """;

    /// <summary>The source address a server saw, canonical (socat writes IPv6 bracketed and in full).</summary>
    private static string? Seen(string? reply) => reply == null ? null : System.Net.IPAddress.Parse(reply.Trim('[', ']')).ToString();

    [KernelFact]
    public void Pods_on_different_nodes_talk_with_their_own_addresses_over_IPv4_and_IPv6()
    {
        using var cluster = new MultiNodeCluster(3);
        var a = cluster.AddPod(1, "team-a", "a", App("a"));
        var b = cluster.AddPod(2, "team-a", "b", App("b"));
        var c = cluster.AddPod(3, "team-b", "c", App("c"));
        cluster.WaitApplied(() => cluster.HasRoute(1, "10.244.2.0/24") && cluster.HasRoute(1, "fd00:10:244:2::/64") && cluster.HasRoute(3, "10.244.1.0/24"), "routes to the other nodes' pod CIDRs");

        Assert.Equal(a.V4, Reach(a.Netns, b.V4));                // no NAT between pods: b sees a's own address
        Assert.Equal(a.V6, Seen(Reach(a.Netns, b.V6)));
        Assert.Equal(c.V4, Reach(c.Netns, a.V4));
        Assert.Equal(c.V6, Seen(Reach(c.Netns, a.V6)));
        Assert.Equal(b.V4, Reach(b.Netns, c.V4));
        Assert.False(cluster.HasRoute(1, "10.244.1.0/24"), "no route of ours to the node's own pod CIDR");

        // A node whose address is not on this segment is reported, not routed at random.
        cluster.AddRemoteNode("far", "198.51.100.7", "10.244.9.0/24");
        cluster.WaitApplied(() => cluster.AgentLog(1).Contains("node far: its address 198.51.100.7 is not on a directly connected network", StringComparison.Ordinal), "the far node reported");
        Assert.False(cluster.HasRoute(1, "10.244.9.0/24"));
        Assert.Equal(a.V4, Reach(a.Netns, b.V4));
    }

    [KernelFact]
    public void Policies_hold_across_nodes_by_the_addresses_the_API_reports()
    {
        using var cluster = new MultiNodeCluster(3);
        var a = cluster.AddPod(1, "team-a", "a", App("a"));
        var b = cluster.AddPod(2, "team-a", "b", App("b"));
        var c = cluster.AddPod(3, "team-b", "c", App("c"));
        cluster.WaitApplied(() => Reach(a.Netns, b.V4) != null && Reach(c.Netns, b.V4) != null && Reach(c.Netns, a.V4) != null, "open reachability");

        cluster.SetPolicies(AToBOnly + """
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: b-from-team-a, namespace: team-a}
            spec:
              podSelector: {matchLabels: {app: b}}
              policyTypes: [Ingress]
              ingress:
              - from: [{namespaceSelector: {matchLabels: {team: team-a}}}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: c-to-a-address, namespace: team-b}
            spec:
              podSelector: {matchLabels: {app: c}}
              policyTypes: [Egress]
              egress:
              - to: [{ipBlock: {cidr: A_V4/32}}]
            """.Replace("A_V4", a.V4, StringComparison.Ordinal));
        cluster.WaitApplied(() => Reach(a.Netns, c.V4) == null, "a's egress policy on node1");

        Assert.Equal(a.V4, Reach(a.Netns, b.V4));   // a's egress (node1) and b's ingress (node2) allow it
        Assert.Null(Reach(a.Netns, c.V4));           // a's egress: c is not app=b
        Assert.Null(Reach(c.Netns, b.V4));           // b's ingress (node2): c's namespace is not team-a
        Assert.Equal(c.V4, Reach(c.Netns, a.V4));    // c's egress: a remote pod's address as an ipBlock
        Assert.Null(Reach(c.Netns, a.V6));           // ... its IPv4 address only
    }

    [KernelFact]
    public void A_node_removed_loses_its_routes_and_a_pod_that_moves_is_followed_by_the_policies()
    {
        using var cluster = new MultiNodeCluster(3);
        var a = cluster.AddPod(1, "team-a", "a", App("a"));
        var b = cluster.AddPod(2, "team-a", "b", App("b"));
        cluster.WaitApplied(() => Reach(a.Netns, b.V4) == a.V4, "a reaches b");

        cluster.SetNodes(1, 3);
        cluster.WaitApplied(() => !cluster.HasRoute(1, "10.244.2.0/24") && !cluster.HasRoute(1, "fd00:10:244:2::/64"), "node2's routes removed");
        Assert.Null(Reach(a.Netns, b.V4));
        cluster.SetNodes(1, 2, 3);
        cluster.WaitApplied(() => Reach(a.Netns, b.V4) == a.V4, "node2 back, a reaches b again");

        // a may reach only app=b; b moves from node2 to node3 (a new address there).
        cluster.SetPolicies(AToBOnly);
        var other = cluster.AddPod(2, "team-a", "other", App("other"));
        cluster.WaitApplied(() => Reach(a.Netns, other.V4) == null, "a's policy on node1");
        cluster.RemovePod("team-a", "b");
        var moved = cluster.AddPod(3, "team-a", "b", App("b"));
        cluster.WaitApplied(() => Reach(a.Netns, moved.V4) == a.V4, "a reaches b at its new address on node3");
        Assert.Null(Reach(a.Netns, other.V4));
    }
}
