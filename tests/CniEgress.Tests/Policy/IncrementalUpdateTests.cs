using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.Tests.Infrastructure;
using k8s.Models;
using Xunit;
using static CniEgress.Tests.Infrastructure.PolicyNode;

namespace CniEgress.Tests.Policy;

/// <summary>Updates that keep the rules' shape go over nfnetlink as exact element changes, and
/// leave the kernel exactly as a full sync of the same state would.</summary>
public class IncrementalUpdateTests
{
    private static V1NetworkPolicy AllowClient(string cidr) => new()
    {
        Metadata = new V1ObjectMeta { Name = "client-egress", NamespaceProperty = "team-a" },
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "client" } },
            PolicyTypes = ["Egress"],
            Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = cidr } }], Ports = [new V1NetworkPolicyPort { Port = 80 }] }],
        },
    };

    [KernelFact]
    public void Pod_added_and_policy_widened_go_incrementally_and_match_a_full_sync()
    {
        using var node = new PolicyNode();
        using var nftables = node.OpenNftablesClient();
        var dataplane = new NftDataplane(node.Nft, new NetlinkElementWriter(nftables));
        var client = node.AddPod("team-a", "client", new() { ["app"] = "client" });
        node.Serve(node.External, 80, "external");
        dataplane.FullSync(PolicyCompiler.Compile(node.Snapshot(AllowClient(ExternalV4 + "/32"))));
        Assert.Equal("external", Talk(client.Netns, ExternalV4, 80));
        Assert.Null(Talk(client.Netns, OtherExternalV4, 80));

        // A second pod of the same class: only pod-sources and pod-class change.
        var second = node.AddPod("team-a", "client-2", new() { ["app"] = "client" });
        Assert.Null(Talk(second.Netns, ExternalV4, 80)); // unknown to the table yet: fail closed
        Assert.True(dataplane.Update(PolicyCompiler.Compile(node.Snapshot(AllowClient(ExternalV4 + "/32")))));
        Assert.Equal("external", Talk(second.Netns, ExternalV4, 80));
        Assert.Null(Talk(second.Netns, OtherExternalV4, 80));

        // The policy's CIDR widens: one interval replaces another in the class's port group.
        var widened = PolicyCompiler.Compile(node.Snapshot(AllowClient("203.0.113.0/24")));
        Assert.True(dataplane.Update(widened));
        Assert.Equal("external", Talk(second.Netns, OtherExternalV4, 80));
        Assert.Equal("external", Talk(client.Netns, OtherExternalV4, 80));

        // The same state reached three ways lists the same (up to the generation's letter): the
        // updates above, a generation switch, and nft's single-transaction text.
        string incremental = Generationless(node.ListTable());
        dataplane.FullSync(widened);
        Assert.Equal(incremental, Generationless(node.ListTable()));
        new NftDataplane(node.Nft).FullSync(widened);
        Assert.Equal(incremental, Generationless(node.ListTable()));
        Assert.Equal("external", Talk(client.Netns, OtherExternalV4, 80));

        // Someone else rewrote the table (here: the second dataplane), so this one's next update
        // does not fit the kernel any more: it repairs with a full sync instead of failing.
        var withPort = AllowClient("203.0.113.0/24");
        withPort.Spec.Egress[0].Ports.Add(new V1NetworkPolicyPort { Port = 443 });
        Assert.False(dataplane.Update(PolicyCompiler.Compile(node.Snapshot(AllowClient(ExternalV4 + "/32")))));
        Assert.Null(Talk(client.Netns, OtherExternalV4, 80));

        // A new port adds a port-map entry and a group slot's elements: still elements only.
        node.Serve(node.External, 443, "external-443");
        Assert.True(dataplane.Update(widened));
        Assert.Null(Talk(client.Netns, OtherExternalV4, 443));
        Assert.True(dataplane.Update(PolicyCompiler.Compile(node.Snapshot(withPort))));
        Assert.Equal("external-443", Talk(client.Netns, OtherExternalV4, 443));
        Assert.Equal("external", Talk(client.Netns, OtherExternalV4, 80));

        // A pod relabelled out of every policy leaves its class; the other pod keeps it.
        node.Relabel("team-a", "client-2", new() { ["app"] = "other" });
        Assert.True(dataplane.Update(PolicyCompiler.Compile(node.Snapshot(withPort))));
        node.Serve(node.External, 81, "external-81");
        Assert.Equal("external-81", Talk(second.Netns, OtherExternalV4, 81));
        Assert.Null(Talk(client.Netns, OtherExternalV4, 81));
        Assert.True(node.DeniedPackets(client.HostInterface) > 0, "the denied connection is counted for its pod");
    }

    private static string Generationless(string listing) =>
        System.Text.RegularExpressions.Regex.Replace(listing, @"\b[ab]-(in-)?(class|group)-", "x-$1$2-");
}
