using System.Net;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Policy;

/// <summary>The compiler on hand-made snapshots: sharing, fail-closed handling of broken
/// policies (with the field named), and the nft text it renders.</summary>
public class EgressCompilerTests
{
    private static readonly PodState Web = new("shop", "web", new Dictionary<string, string> { ["app"] = "web" },
        [IPAddress.Parse("10.0.0.5"), IPAddress.Parse("fd00::5")], [new ContainerPortState("http", 8080, "TCP")]);
    private static readonly PodState Db = new("shop", "db", new Dictionary<string, string> { ["app"] = "db" }, [IPAddress.Parse("10.0.0.6")], []);

    private static ClusterSnapshot Snapshot(params V1NetworkPolicy[] policies) => new(
        [new NamespaceState("shop", new Dictionary<string, string>())], [Web, Db], policies,
        [new LocalPod("shop", "web", "ceg00000000000a", Web.Addresses), new LocalPod("shop", "db", "ceg00000000000b", Db.Addresses)]);

    private static V1NetworkPolicy Policy(string name, V1LabelSelector selector, params V1NetworkPolicyEgressRule[] egress) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
        Spec = new V1NetworkPolicySpec { PodSelector = selector, PolicyTypes = ["Egress"], Egress = egress.ToList() },
    };

    private static V1NetworkPolicyEgressRule ToBlock(string cidr, string[]? except = null, params V1NetworkPolicyPort[] ports) => new()
    {
        To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = cidr, Except = except?.ToList() } }],
        Ports = ports.Length == 0 ? null : ports.ToList(),
    };

    [Fact]
    public void Pods_selected_by_the_same_policies_share_one_class()
    {
        var compiled = PolicyCompiler.Compile(Snapshot(Policy("all", new V1LabelSelector(), ToBlock("192.0.2.0/24"))));
        Assert.Single(compiled.Classes);
        Assert.Equal(compiled.ClassOfInterface["ceg00000000000a"], compiled.ClassOfInterface["ceg00000000000b"]);
        Assert.Equal(["192.0.2.0/24"], compiled.Classes.Values.Single().AnyTraffic.Select(r => r.ToString()));
    }

    [Theory]
    [InlineData("not-a-cidr", null, null, "TCP", "spec.egress[0].to[0].ipBlock.cidr")]
    [InlineData("10.0.0.0/8", "192.168.0.0/16", null, "TCP", "spec.egress[0].to[0].ipBlock.except[0]")]
    [InlineData("10.0.0.0/8", null, 70, "TCP", "spec.egress[0].ports[0].endPort")]
    [InlineData("10.0.0.0/8", null, null, "ICMP", "spec.egress[0].ports[0].protocol")]
    public void A_broken_part_is_reported_by_field_and_allows_nothing_while_pods_stay_isolated(string cidr, string? except, int? endPort, string protocol, string field)
    {
        var policy = Policy("broken", new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } },
            ToBlock(cidr, except == null ? null : [except], new V1NetworkPolicyPort { Port = 80, EndPort = endPort, Protocol = protocol }));
        var compiled = PolicyCompiler.Compile(Snapshot(policy));
        var problem = Assert.Single(compiled.Problems);
        Assert.Equal(("shop/broken", field), (problem.Policy, problem.Field));
        Assert.True(compiled.ClassOfInterface.ContainsKey("ceg00000000000a"), "web stays isolated");
        Assert.False(DataplaneVerdict.Allows(compiled, "ceg00000000000a", Web.Addresses[0], IPAddress.Parse("10.1.2.3"), Protocols.Tcp, 80));
        Assert.False(compiled.ClassOfInterface.ContainsKey("ceg00000000000b"), "db is not selected");
    }

    [Fact]
    public void Unresolvable_named_port_allows_nothing_and_an_invalid_selector_isolates_the_namespace()
    {
        var namedNowhere = Policy("named", new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } },
            new V1NetworkPolicyEgressRule { Ports = [new V1NetworkPolicyPort { Port = "metrics" }] });
        var compiled = PolicyCompiler.Compile(Snapshot(namedNowhere));
        Assert.Empty(compiled.Classes[compiled.ClassOfInterface["ceg00000000000b"]].Ports);

        var badSelector = Policy("bad", new V1LabelSelector { MatchExpressions = [new V1LabelSelectorRequirement { Key = "app", OperatorProperty = "Near" }] }, ToBlock("0.0.0.0/0"));
        compiled = PolicyCompiler.Compile(Snapshot(badSelector));
        Assert.Equal("spec.podSelector.matchExpressions[0].operator", Assert.Single(compiled.Problems).Field);
        Assert.Equal(2, compiled.ClassOfInterface.Count);
    }

    [Fact]
    public void Named_ports_resolve_per_destination_and_endPort_is_a_range()
    {
        var policy = Policy("p", new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } },
            new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector() }], Ports = [new V1NetworkPolicyPort { Port = "http" }] },
            ToBlock("192.0.2.0/24", null, new V1NetworkPolicyPort { Port = 8000, EndPort = 8010, Protocol = "UDP" }));
        var egress = PolicyCompiler.Compile(Snapshot(policy)).Classes.Values.Single();
        Assert.Equal(["10.0.0.5 . tcp . 8080", "192.0.2.0/24 . udp . 8000-8010", "fd00::5 . tcp . 8080"],
            egress.Ports.Select(b => $"{b.Destination} . {Protocols.Name(b.Protocol)} . {(b.FirstPort == b.LastPort ? b.FirstPort.ToString() : $"{b.FirstPort}-{b.LastPort}")}").Order());
    }

    [Fact]
    public void Rendered_transaction_holds_static_rules_and_only_set_elements_vary()
    {
        static string Render(DesiredDataplane desired) => NftRuleset.FullSync(desired, SlotPools.Fresh(desired), []);
        var one = Render(PolicyCompiler.Compile(Snapshot(Policy("a", new V1LabelSelector(), ToBlock("192.0.2.0/24")))));
        var other = Render(PolicyCompiler.Compile(Snapshot(Policy("a", new V1LabelSelector(), ToBlock("198.51.100.0/24")))));
        static IEnumerable<string> Rules(string text) => text.Split('\n').Where(l => !l.StartsWith("add element", StringComparison.Ordinal));
        Assert.Equal(Rules(one), Rules(other));
        Assert.Contains("add element inet cni-egress pod-sources-v6 { \"ceg00000000000a\" . fd00::5 }", one, StringComparison.Ordinal);
        Assert.DoesNotContain("delete table", one, StringComparison.Ordinal);
    }
}
