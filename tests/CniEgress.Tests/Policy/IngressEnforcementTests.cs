using CniEgress.Netlink.Conntrack;
using CniEgress.PolicyAgent.Agent;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.Tests.Infrastructure;
using k8s.Models;
using Xunit;
using static CniEgress.Tests.Infrastructure.PolicyNode;
using static CniEgress.Tests.Policy.PolicyObjects;

namespace CniEgress.Tests.Policy;

/// <summary>Ingress with real pods (wired by the plugin), real nftables and real TCP: traffic into
/// a local pod from another pod of the node, from external hosts and from the node itself.</summary>
public class IngressEnforcementTests
{
    [KernelFact]
    public void Pod_to_pod_on_the_node_needs_the_destinations_ingress_and_replies_pass()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        var other = node.AddPod("team-a", "other", L("app", "other"));
        var web = node.AddPod("team-a", "web", L("app", "web"));
        node.Serve(web.Netns, 8080, "web8080");
        node.Serve(web.Netns, 9090, "web9090");
        node.Serve(client.Netns, 7000, "client7000");

        node.Enforce(Ingress("team-a", "web-from-client", L("app", "web"), From([Pods("app", "client")], Port(8080))));

        Assert.Equal("web8080", Talk(client.Netns, web.V4, 8080));  // allowed in; the reply came back out
        Assert.Equal("web8080", Talk(client.Netns, web.V6, 8080));
        Assert.Null(Talk(client.Netns, web.V4, 9090));              // port not opened
        Assert.Null(Talk(other.Netns, web.V4, 8080));               // peer not selected
        Assert.True(node.DeniedPackets(web.HostInterface, Direction.Ingress) > 0, "the denied SYNs are counted for web");
        Assert.Equal("client7000", Talk(web.Netns, client.V4, 7000)); // web's own connections out are not its ingress
    }

    [KernelFact]
    public void IpBlock_matches_external_sources_as_the_node_sees_them()
    {
        using var node = new PolicyNode();
        var web = node.AddPod("team-a", "web", L("app", "web"));
        node.Serve(web.Netns, 8080, "web8080");

        node.Enforce(Ingress("team-a", "from-testnet", L("app", "web"),
            From([Block("203.0.113.0/24", "203.0.113.10/32"), Block("2001:db8:e::/64")], Port(8080))));

        Assert.Null(Talk(node.External, web.V4, 8080, source: ExternalV4));               // in the except
        Assert.Equal("web8080", Talk(node.External, web.V4, 8080, source: OtherExternalV4)); // in the cidr only
        Assert.Equal("web8080", Talk(node.External, web.V6, 8080));
    }

    [KernelFact]
    public void Deny_all_ingress_keeps_the_nodes_own_connections_like_kubelet_probes()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        var web = node.AddPod("team-a", "web", L("app", "web"));
        node.Serve(web.Netns, 8080, "web8080");

        node.Enforce(Ingress("team-a", "deny-all", null));

        Assert.Null(Talk(client.Netns, web.V4, 8080));
        Assert.Null(Talk(node.External, web.V4, 8080));
        Assert.Null(Talk(node.External, web.V6, 8080));
        Assert.Equal("web8080", Talk(node.Node, web.V4, 8080)); // the node itself (kubelet's probes) still gets in
        Assert.Equal("web8080", Talk(node.Node, web.V6, 8080));
    }

    [KernelFact]
    public void A_connection_between_two_pods_needs_the_egress_of_one_and_the_ingress_of_the_other()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        var web = node.AddPod("team-a", "web", L("app", "web"));
        var db = node.AddPod("team-a", "db", L("app", "db"));
        foreach (var (pod, name) in new[] { (web, "web"), (db, "db") }) node.Serve(pod.Netns, 8080, name);

        // No policyTypes: Ingress always, Egress because there are egress rules.
        var clientOut = new V1NetworkPolicy
        {
            Metadata = new V1ObjectMeta { Name = "client", NamespaceProperty = "team-a" },
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = L("app", "client") },
                Egress = [new V1NetworkPolicyEgressRule { To = [Pods("app", "web"), Pods("app", "db")] }],
            },
        };
        var webIn = Ingress("team-a", "web", L("app", "web"), From([Pods("app", "client")]));
        var dbIn = Ingress("team-a", "db", L("app", "db"), From([Pods("app", "web")]));
        node.Enforce(clientOut, webIn, dbIn);

        Assert.Equal("web", Talk(client.Netns, web.V4, 8080)); // client's egress and web's ingress both allow it
        Assert.Null(Talk(client.Netns, db.V4, 8080));          // client's egress allows it, db's ingress does not
        Assert.Equal("db", Talk(web.Netns, db.V4, 8080));
        Assert.Null(Talk(db.Netns, client.V4, 8080));          // client is isolated for ingress by its own policy, with no rules
    }

    [KernelFact]
    public void A_pod_the_agent_does_not_know_yet_accepts_nothing_new()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        var unknownLabels = node.AddPod("team-a", "labels-unknown", known: false);
        node.Serve(unknownLabels.Netns, 8080, "unknown");
        node.Enforce(Ingress("team-a", "open-to-all", L("app", "nothing-matches"), From(null)));
        Assert.Null(Talk(client.Netns, unknownLabels.V4, 8080)); // labels unknown, and an ingress policy could select it
        // A veth the agent has never heard of at all (wired after the last sync) accepts nothing either.
        var late = node.AddPod("team-a", "late", L("app", "x"));
        node.Serve(late.Netns, 8080, "late");
        Assert.Null(Talk(client.Netns, late.V4, 8080));
        Assert.Null(Talk(node.External, late.V6, 8080));
    }

    [KernelFact]
    public void A_named_port_resolves_against_each_selected_pod_itself()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        var web = node.AddPod("team-a", "web", L("tier", "back"), [new ContainerPortState("http", 8080, "TCP")]);
        var api = node.AddPod("team-a", "api", L("tier", "back"), [new ContainerPortState("http", 9090, "TCP")]);
        foreach (var (pod, name) in new[] { (web, "web"), (api, "api") })
            foreach (int port in new[] { 8080, 9090 }) node.Serve(pod.Netns, port, $"{name}{port}");

        node.Enforce(Ingress("team-a", "http", L("tier", "back"), From(null, Port("http"))));

        Assert.Equal("web8080", Talk(client.Netns, web.V4, 8080));
        Assert.Null(Talk(client.Netns, web.V4, 9090));
        Assert.Equal("api9090", Talk(client.Netns, api.V4, 9090));
        Assert.Null(Talk(client.Netns, api.V4, 8080));
    }

    [KernelFact]
    public void Tightening_ingress_stops_the_established_connection_it_now_denies()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        var web = node.AddPod("team-a", "web", L("app", "web"));
        node.ServeEcho(web.Netns, 7000);
        node.ServeEcho(web.Netns, 7001);
        using var nftables = node.OpenNftablesClient();
        var dataplane = new NftDataplane(node.Nft, new NetlinkElementWriter(nftables));
        V1NetworkPolicy Open(params int[] ports) => Ingress("team-a", "web", L("app", "web"), From([Pods("app", "client")], [.. ports.Select(p => Port(p))]));
        dataplane.FullSync(PolicyCompiler.Compile(node.Snapshot(Open(7000, 7001))));

        using var podNamespace = CniEgress.Netns.NetworkNamespace.Open(client.Netns.Path);
        using var denied = podNamespace.Run(() => EchoClient.Connect(web.V4, 7000));
        using var allowed = podNamespace.Run(() => EchoClient.Connect(web.V4, 7001));
        Assert.True(EchoClient.Echoes(denied) && EchoClient.Echoes(allowed), "both connections echo while both ports are open");

        var tightened = PolicyCompiler.Compile(node.Snapshot(Open(7001)));
        Assert.True(dataplane.Update(tightened));
        using var conntrack = CniEgress.Netns.NetworkNamespace.Open(node.Node.Path).Run(ConntrackClient.Open);
        int stopped = ConntrackSweeper.Sweep(tightened, conntrack.List(),
            flow => conntrack.SetMark(flow, NftRuleset.DeniedFlowMark, NftRuleset.DeniedFlowMark));

        Assert.Equal(1, stopped);
        Assert.False(EchoClient.Echoes(denied), "the denied flow stops at its next packet");
        Assert.True(EchoClient.Echoes(allowed), "the allowed flow is untouched");
    }
}
