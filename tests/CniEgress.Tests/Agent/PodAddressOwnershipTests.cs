using System.Net;
using CniEgress.PolicyAgent.Policy;
using CniEgress.PolicyAgent.Sources;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Agent;

/// <summary>Only addresses a pod holds as its own reach the compiler: not a hostNetwork pod's
/// (the node's), not a finished pod's (back in IPAM, perhaps another pod's already).</summary>
public class PodAddressOwnershipTests
{
    private static V1Pod Pod(string name, string app, string ip, string? phase = "Running", bool hostNetwork = false) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop", Labels = new Dictionary<string, string> { ["app"] = app } },
        Spec = new V1PodSpec { HostNetwork = hostNetwork, Containers = [new V1Container { Name = "main" }] },
        Status = new V1PodStatus { Phase = phase, PodIP = ip, PodIPs = [new V1PodIP { Ip = ip }] },
    };

    [Theory]
    [InlineData("Running", false, true)]
    [InlineData("Pending", false, true)]
    [InlineData(null, false, true)]
    [InlineData("Unknown", false, true)]
    [InlineData("Succeeded", false, false)]
    [InlineData("Failed", false, false)]
    [InlineData("Running", true, false)]
    public void A_pod_keeps_its_reported_addresses_only_while_they_are_its_own(string? phase, bool hostNetwork, bool keeps)
    {
        var state = ObjectConversion.Pod(Pod("p", "db", "10.0.0.9", phase, hostNetwork));
        Assert.Equal(keeps ? ["10.0.0.9"] : [], state.Addresses.Select(a => a.ToString()));
        Assert.Equal("db", state.Labels["app"]); // still known, so a local pod of that name keeps its class
    }

    [Fact]
    public void A_finished_pods_address_reused_by_another_pod_is_not_opened_by_a_selector_for_the_finished_one()
    {
        var web = ObjectConversion.Pod(Pod("web", "web", "10.0.0.5"));
        var finishedJob = ObjectConversion.Pod(Pod("migrate", "db", "10.0.0.9", phase: "Succeeded"));
        var reuser = ObjectConversion.Pod(Pod("cache", "cache", "10.0.0.9"));
        var liveDb = ObjectConversion.Pod(Pod("db", "db", "10.0.0.7"));
        var nodeAgent = ObjectConversion.Pod(Pod("exporter", "db", "198.51.100.1", hostNetwork: true));
        var toDb = new V1NetworkPolicy
        {
            Metadata = new V1ObjectMeta { Name = "web-to-db", NamespaceProperty = "shop" },
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } },
                PolicyTypes = ["Egress"],
                Egress = [new V1NetworkPolicyEgressRule
                {
                    To = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } } }],
                    Ports = [new V1NetworkPolicyPort { Port = 5432 }],
                }],
            },
        };
        var compiled = PolicyCompiler.Compile(new ClusterSnapshot(
            [new NamespaceState("shop", new Dictionary<string, string>())], [web, finishedJob, reuser, liveDb, nodeAgent], [toDb],
            [new LocalPod("shop", "web", "ceg00000000000a", web.Addresses)]));

        bool Allows(string destination) => DataplaneVerdict.Allows(compiled, "ceg00000000000a", IPAddress.Parse("10.0.0.5"), IPAddress.Parse(destination), Protocols.Tcp, 5432);
        Assert.True(Allows("10.0.0.7"), "the running db");
        Assert.False(Allows("10.0.0.9"), "the finished job's address, now the cache's");
        Assert.False(Allows("198.51.100.1"), "the node's address, reported by a hostNetwork pod");
    }
}
