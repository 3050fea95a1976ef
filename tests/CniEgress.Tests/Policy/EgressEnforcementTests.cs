using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.Tests.Infrastructure;
using k8s.Models;
using Xunit;
using static CniEgress.Tests.Infrastructure.PolicyNode;
using static CniEgress.Tests.Policy.PolicyObjects;

namespace CniEgress.Tests.Policy;

/// <summary>Real pods (wired by the plugin), real nftables, real TCP and UDP: what the kernel
/// lets through after the compiled policy is applied.</summary>
public class EgressEnforcementTests
{
    [KernelFact]
    public void IpBlock_with_except_allows_the_block_but_not_the_excepted_host_and_replies_pass()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        node.Serve(node.External, 80, "external");
        Assert.Equal("external", Talk(client.Netns, ExternalV4, 80));

        node.Enforce(Egress("team-a", "only-testnet", L("app", "client"),
            To([Block("203.0.113.0/24", "203.0.113.10/32")])));

        Assert.Null(Talk(client.Netns, ExternalV4, 80));                // in cidr and in except: denied
        Assert.True(node.DeniedPackets(client.HostInterface) > 0, "the denied SYN is counted for the pod");
        Assert.Equal("external", Talk(client.Netns, OtherExternalV4, 80)); // in cidr only: allowed, reply came back
    }

    [KernelFact]
    public void Ports_endPort_and_protocol_are_enforced_exactly()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        foreach (int port in new[] { 8000, 8010, 8011 }) node.Serve(node.External, port, "tcp" + port);
        node.Serve(node.External, 53, "udp53", udp: true);
        node.Serve(node.External, 53, "tcp53");

        node.Enforce(Egress("team-a", "ports", L("app", "client"),
            To([Block("0.0.0.0/0")], Port(8000, endPort: 8010), Port(53, "UDP"))));

        Assert.Equal("tcp8000", Talk(client.Netns, ExternalV4, 8000));
        Assert.Equal("tcp8010", Talk(client.Netns, ExternalV4, 8010));
        Assert.Null(Talk(client.Netns, ExternalV4, 8011));
        Assert.Equal("udp53", Talk(client.Netns, ExternalV4, 53, udp: true));
        Assert.Null(Talk(client.Netns, ExternalV4, 53)); // the UDP rule does not open TCP 53
    }

    [KernelFact]
    public void Pod_selectors_and_named_ports_resolve_per_destination_pod()
    {
        using var node = new PolicyNode();
        node.Namespace("team-a", L("team", "a"));
        node.Namespace("team-b", L("team", "b"));
        var client = node.AddPod("team-a", "client", L("app", "client"));
        var web = node.AddPod("team-a", "web", L("app", "web"), [new ContainerPortState("http", 8080, "TCP")]);
        var db = node.AddPod("team-b", "db", L("app", "db"), [new ContainerPortState("http", 9090, "TCP")]);
        foreach (var (pod, name) in new[] { (web, "web"), (db, "db") })
            foreach (int port in new[] { 8080, 9090 }) node.Serve(pod.Netns, port, $"{name}{port}");

        node.Enforce(Egress("team-a", "named", L("app", "client"),
            To([new V1NetworkPolicyPeer { NamespaceSelector = new V1LabelSelector() }], new V1NetworkPolicyPort { Port = "http", Protocol = "TCP" })));

        Assert.Equal("web8080", Talk(client.Netns, web.V4, 8080)); // web's "http" is 8080
        Assert.Null(Talk(client.Netns, web.V4, 9090));
        Assert.Equal("db9090", Talk(client.Netns, db.V4, 9090));   // db's "http" is 9090
        Assert.Null(Talk(client.Netns, db.V4, 8080));
        Assert.Null(Talk(client.Netns, ExternalV4, 8080));         // not a pod: no named port
        // web is not selected by the policy: it is not isolated.
        Assert.Equal("db8080", Talk(web.Netns, db.V4, 8080));
    }

    [KernelFact]
    public void Policies_union_and_removing_one_restores_traffic()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        node.Serve(node.External, 80, "ten");
        node.Serve(node.External, 81, "eleven");
        var toTen = Egress("team-a", "to-ten", L("app", "client"), To([Block(ExternalV4 + "/32")], Port(80)));
        var toEleven = Egress("team-a", "to-eleven", L("app", "client"), To([Block(OtherExternalV4 + "/32")], Port(81)));

        node.Enforce(toTen, toEleven);
        Assert.Equal("ten", Talk(client.Netns, ExternalV4, 80));
        Assert.Equal("eleven", Talk(client.Netns, OtherExternalV4, 81));
        Assert.Null(Talk(client.Netns, ExternalV4, 81));

        node.Enforce(toTen);
        Assert.Null(Talk(client.Netns, OtherExternalV4, 81));

        node.Enforce();
        Assert.Equal("eleven", Talk(client.Netns, OtherExternalV4, 81));
    }

    [KernelFact]
    public void Reject_refuses_TCP_at_once_and_answers_UDP_with_admin_prohibited()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        node.Serve(node.External, 80, "external");
        node.Serve(node.External, 53, "dns", udp: true);
        node.Enforce(new NftRuleset.Options(Reject: true),
            Egress("team-a", "only-eleven", L("app", "client"), To([Block(OtherExternalV4 + "/32")], Port(80))));
        Assert.Equal("external", Talk(client.Netns, OtherExternalV4, 80));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tcp = client.Netns.Exec("socat", "-T3", "-", $"TCP:{ExternalV4}:80,connect-timeout=3");
        Assert.True(tcp.Stderr.Contains("Connection refused", StringComparison.Ordinal), $"a RST, not a timeout: {tcp.Stderr}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"refused after {clock.Elapsed}");

        // ICMP administratively prohibited reaches the client as "No route to host". The kernel
        // rate-limits ICMP errors per destination (one a second), hence a bounded retry.
        Processes.ProcessRunner.Outcome udp = default!;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            udp = Shell.RunWithInput("ip", "ping\n", "netns", "exec", client.Netns.Name, "socat", "-T2", "-", $"UDP:{ExternalV4}:53");
            if (udp.Stderr.Contains("No route to host", StringComparison.Ordinal)) break;
            Thread.Sleep(1100);
        }
        Assert.True(udp.ExitCode != 0 && udp.Stderr.Contains("No route to host", StringComparison.Ordinal), $"exit {udp.ExitCode}: {udp.Stderr}");
        Assert.True(node.DeniedPackets(client.HostInterface) >= 2, "both denials are counted for the pod");
    }

    [KernelFact]
    public void IPv6_is_enforced_like_IPv4()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        node.Serve(node.External, 80, "external");
        node.Enforce(Egress("team-a", "v6", L("app", "client"), To([Block("2001:db8:e::/64")], Port(80))));
        Assert.Equal("external", Talk(client.Netns, ExternalV6, 80));
        Assert.Null(Talk(client.Netns, ExternalV4, 80));
        node.Enforce(Egress("team-a", "v4", L("app", "client"), To([Block("0.0.0.0/0")], Port(80))));
        Assert.Null(Talk(client.Netns, ExternalV6, 80));
        Assert.Equal("external", Talk(client.Netns, ExternalV4, 80));
    }

    [KernelFact]
    public void A_forged_source_address_is_dropped_even_for_an_unisolated_pod()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", L("app", "client"));
        node.Serve(node.External, 80, "external");
        node.Enforce(); // no policy: the pod is not isolated
        Assert.Equal("external", Talk(client.Netns, ExternalV4, 80));
        Shell.Ok("ip", "-n", client.Netns.Name, "addr", "add", "10.99.99.99/32", "dev", "eth0");
        Assert.Null(Talk(client.Netns, ExternalV4, 80, source: "10.99.99.99"));
    }

    [KernelFact]
    public void A_pod_the_agent_does_not_know_yet_is_isolated_fail_closed()
    {
        using var node = new PolicyNode();
        var known = node.AddPod("team-a", "known", L("app", "x"));
        var unknownLabels = node.AddPod("team-a", "labels-unknown", known: false);
        node.Serve(node.External, 80, "external");
        node.Enforce(Egress("team-a", "isolate-x", L("app", "nothing-matches"), To([Block("0.0.0.0/0")])));
        Assert.Equal("external", Talk(known.Netns, ExternalV4, 80));
        Assert.Null(Talk(unknownLabels.Netns, ExternalV4, 80));
        // A veth the agent has never heard of at all (wired after the last sync) is dropped too.
        var late = node.AddPod("team-a", "late", L("app", "x"));
        Assert.Null(Talk(late.Netns, ExternalV4, 80));
    }
}
