using System.Net;
using CniEgress.PolicyAgent.Agent;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.PolicyAgent.Sources;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Agent;

/// <summary>The reconciler against kernel edges that accept everything: what it tells the
/// compiler is checked by comparing its desired state with a cold compile of the same cluster.</summary>
public class ReconcilerTests
{
    private static readonly NamespaceState Shop = new("shop", new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "shop" });

    private static PodState Pod(string name, params string[] addresses) =>
        new("shop", name, new Dictionary<string, string> { ["app"] = name }, addresses.Select(IPAddress.Parse).ToList(), []);

    private static LocalPod Local(string name, string address) => new("shop", name, "ceg" + name, [IPAddress.Parse(address)]);

    private static readonly V1NetworkPolicy ClientToWeb = new()
    {
        Metadata = new V1ObjectMeta { Name = "client-to-web", NamespaceProperty = "shop" },
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "client" } },
            PolicyTypes = ["Egress"],
            Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } } }] }],
        },
    };

    private static string Cold(IEnumerable<PodState> pods, IEnumerable<LocalPod> local) =>
        DesiredDataplaneText.Describe(PolicyCompiler.Compile(new ClusterSnapshot([Shop], pods.ToList(), [ClientToWeb], local.ToList())));

    private static Dictionary<string, LocalPod> ByInterface(params LocalPod[] pods) => pods.ToDictionary(p => p.HostInterface, StringComparer.Ordinal);

    [Fact]
    public void A_pod_without_reported_addresses_has_its_attachments_addresses_and_loses_them_with_its_attachment()
    {
        var reconciler = new Reconciler(new NftDataplane(new AcceptingExecutor(), new AcceptingWriter()), _ => { });
        var cluster = new ClusterObjects(
            new Dictionary<string, NamespaceState> { ["shop"] = Shop },
            new Dictionary<string, PodState> { ["shop/client"] = Pod("client"), ["shop/web"] = Pod("web") },
            new Dictionary<string, V1NetworkPolicy> { ["shop/client-to-web"] = ClientToWeb });
        LocalPod client = Local("client", "10.0.0.1"), web = Local("web", "10.0.0.2");

        reconciler.Apply(cluster, ByInterface(client, web));
        Assert.Equal(Cold([Pod("client", "10.0.0.1"), Pod("web", "10.0.0.2")], [client, web]), DesiredDataplaneText.Describe(reconciler.Desired!));

        // web's pod is deleted on this node (CNI DEL) while its manifest stays: its old address
        // must not stay allowed, as another pod may get it next.
        reconciler.ApplyLocal(ByInterface(client));
        Assert.Equal(Cold([Pod("client", "10.0.0.1"), Pod("web")], [client]), DesiredDataplaneText.Describe(reconciler.Desired!));

        // It comes back under a new address; then the source reports an address of its own, which wins.
        var again = Local("web", "10.0.0.7");
        reconciler.ApplyLocal(ByInterface(client, again));
        Assert.Equal(Cold([Pod("client", "10.0.0.1"), Pod("web", "10.0.0.7")], [client, again]), DesiredDataplaneText.Describe(reconciler.Desired!));
        reconciler.ApplyChanges(new ClusterChanges([], [new("shop/web", Pod("web", "10.0.0.9"))], []), ByInterface(client, again));
        Assert.Equal(Cold([Pod("client", "10.0.0.1"), Pod("web", "10.0.0.9")], [client, again]), DesiredDataplaneText.Describe(reconciler.Desired!));
    }

    private sealed class AcceptingExecutor : INftExecutor
    {
        public void Apply(string transaction) { }

        public IReadOnlyList<NftRuleset.TableObject> ListObjects() => [];
    }

    private sealed class AcceptingWriter : INftElementWriter
    {
        public void Apply(IReadOnlyList<CniEgress.Netlink.Nftables.NftElementChange> changes) { }
    }

    [Fact]
    public void A_policy_without_policyTypes_isolates_ingress_and_deleting_it_lifts_the_isolation()
    {
        var reconciler = new Reconciler(null, _ => { });
        var noTypes = new V1NetworkPolicy
        {
            Metadata = new V1ObjectMeta { Name = "no-types", NamespaceProperty = "shop" },
            Spec = new V1NetworkPolicySpec { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } } },
        };
        var cluster = new ClusterObjects(new Dictionary<string, NamespaceState> { ["shop"] = Shop },
            new Dictionary<string, PodState> { ["shop/client"] = Pod("client", "10.0.0.1"), ["shop/web"] = Pod("web", "10.0.0.2") },
            new Dictionary<string, V1NetworkPolicy> { ["shop/no-types"] = noTypes });
        LocalPod client = Local("client", "10.0.0.1"), web = Local("web", "10.0.0.2");
        reconciler.Apply(cluster, ByInterface(client, web));
        var ingress = reconciler.Desired!.Ingress;
        Assert.Equal(["cegweb"], ingress.ClassOfInterface.Keys);
        Assert.False(ingress.Allows("cegweb", IPAddress.Parse("10.0.0.1"), Protocols.Tcp, 80));
        Assert.Empty(reconciler.Desired.ClassOfInterface); // no egress rules, no policyTypes: egress stays open

        reconciler.ApplyChanges(new ClusterChanges([], [], [new("shop/no-types", null)]), ByInterface(client, web));
        Assert.Empty(reconciler.Desired!.Ingress.ClassOfInterface);
    }
}
