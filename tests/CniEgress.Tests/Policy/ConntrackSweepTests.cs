using CniEgress.Netlink.Conntrack;
using CniEgress.PolicyAgent.Agent;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.Tests.Infrastructure;
using k8s.Models;
using Xunit;
using static CniEgress.Tests.Infrastructure.PolicyNode;

namespace CniEgress.Tests.Policy;

/// <summary>A policy that tightens stops the established connections it now denies (their
/// conntrack entries are marked, so their next packet meets the class chain) and leaves allowed ones alone.</summary>
public class ConntrackSweepTests
{
    private static V1NetworkPolicy Allow(params int[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = "echo", NamespaceProperty = "team-a" },
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector(),
            PolicyTypes = ["Egress"],
            Egress = [new V1NetworkPolicyEgressRule
            {
                To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = ExternalV4 + "/32" } }],
                Ports = ports.Select(p => new V1NetworkPolicyPort { Port = p }).ToList(),
            }],
        },
    };

    [KernelFact]
    public void Tightening_stops_the_denied_established_connection_and_keeps_the_allowed_one()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client");
        node.ServeEcho(node.External, 7000);
        node.ServeEcho(node.External, 7001);
        using var nftables = node.OpenNftablesClient();
        var dataplane = new NftDataplane(node.Nft, new NetlinkElementWriter(nftables));
        dataplane.FullSync(PolicyCompiler.Compile(node.Snapshot(Allow(7000, 7001))));

        using var podNamespace = CniEgress.Netns.NetworkNamespace.Open(client.Netns.Path);
        using var denied = podNamespace.Run(() => EchoClient.Connect(ExternalV4, 7000));
        using var allowed = podNamespace.Run(() => EchoClient.Connect(ExternalV4, 7001));
        Assert.True(EchoClient.Echoes(denied) && EchoClient.Echoes(allowed), "both connections echo while both ports are allowed");

        var tightened = PolicyCompiler.Compile(node.Snapshot(Allow(7001)));
        Assert.True(dataplane.Update(tightened));
        Assert.True(EchoClient.Echoes(denied), "without a sweep the established fast path keeps the denied flow alive");
        using var conntrack = CniEgress.Netns.NetworkNamespace.Open(node.Node.Path).Run(ConntrackClient.Open);
        var stoppedFlows = new List<ConntrackFlow>();
        int stopped = ConntrackSweeper.Sweep(tightened, conntrack.List(),
            flow => { stoppedFlows.Add(flow); return conntrack.SetMark(flow, NftRuleset.DeniedFlowMark, NftRuleset.DeniedFlowMark); });

        Assert.Equal(1, stopped);
        Assert.Equal(7000, Assert.Single(stoppedFlows).DestinationPort);
        Assert.False(EchoClient.Echoes(denied), "the denied flow stops at its next packet");
        Assert.True(EchoClient.Echoes(allowed), "the allowed flow is untouched");
    }
}
