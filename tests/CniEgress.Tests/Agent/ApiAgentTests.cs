using System.Text.Json.Nodes;
using CniEgress.TestSupport;
using CniEgress.Tests.Infrastructure;
using k8s.Models;
using Xunit;
using static CniEgress.Tests.Infrastructure.PolicyNode;

namespace CniEgress.Tests.Agent;

/// <summary>egress-agent run --kubeconfig against a fake API server: policies created, changed
/// and deleted are enforced; a dropped watch resumes from its version; a compacted version (410
/// Gone) relists; while the server is away the last state stays enforced, and changes made
/// meanwhile apply on its return.</summary>
public class ApiAgentTests
{
    private static V1NetworkPolicy AllowTo(string address) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = new V1ObjectMeta { Name = "client-egress", NamespaceProperty = "team-a" },
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "client" } },
            PolicyTypes = ["Egress"],
            Egress = [new V1NetworkPolicyEgressRule
            {
                To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = address + "/32" } }],
                Ports = [new V1NetworkPolicyPort { Port = 80 }],
            }],
        },
    };

    [KernelFact]
    public void Policies_from_the_API_follow_creates_changes_drops_410s_and_outages()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", new() { ["app"] = "client" });
        node.Serve(node.External, 80, "external");
        using var api = new FakeApiServer(node.Node.Path);
        api.Upsert("namespaces", new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = "team-a" } });
        api.Upsert("pods", new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = "client", NamespaceProperty = "team-a", Labels = new Dictionary<string, string> { ["app"] = "client" } },
            Status = new V1PodStatus { PodIPs = client.Addresses.Select(a => new V1PodIP { Ip = a.ToString() }).ToList() },
        });
        api.Upsert("networkpolicies", AllowTo(OtherExternalV4));

        using var agent = AgentProcess.Start(node.Node, "run", "--kubeconfig", api.Kubeconfig(node.StateDir), "--node-name", "node-1", "--state-dir", node.StateDir);
        Assert.True(agent.WaitUntilServing(TimeSpan.FromSeconds(30)), agent.Log);
        Assert.True(Wait.Until(() => Allowed(client, OtherExternalV4) && !Allowed(client, ExternalV4), TimeSpan.FromSeconds(20)), agent.Log);

        // A change arrives over the watch.
        api.Upsert("networkpolicies", AllowTo(ExternalV4));
        Assert.True(Wait.Until(() => Allowed(client, ExternalV4) && !Allowed(client, OtherExternalV4), TimeSpan.FromSeconds(20)), agent.Log);

        // The watch drops; the agent resumes from the last version and misses nothing.
        api.DropWatches();
        api.Upsert("networkpolicies", AllowTo(OtherExternalV4));
        Assert.True(Wait.Until(() => Allowed(client, OtherExternalV4) && !Allowed(client, ExternalV4), TimeSpan.FromSeconds(20)), agent.Log);
        Assert.Equal(1, api.Requests.Count(r => r == "list networkpolicies")); // resumed, not listed again

        // History compacted: resuming gets 410 Gone, the agent lists again.
        api.Compact();
        api.DropWatches();
        api.Upsert("networkpolicies", AllowTo(ExternalV4));
        Assert.True(Wait.Until(() => Allowed(client, ExternalV4) && !Allowed(client, OtherExternalV4), TimeSpan.FromSeconds(20)), agent.Log);
        Assert.True(agent.WaitForLog("410", TimeSpan.FromSeconds(5)), agent.Log);
        Assert.True(api.Requests.Count(r => r == "list networkpolicies") >= 2, string.Join('\n', api.Requests));

        // A broken part of a policy: a Warning Event on the policy names the field.
        var broken = AllowTo(ExternalV4);
        broken.Metadata.Name = "broken";
        broken.Spec.Egress[0].To[0].IpBlock.Cidr = "10.0.0.0/33";
        api.Upsert("networkpolicies", broken);
        Assert.True(Wait.Until(() => { lock (api.Events) return api.Events.Count > 0; }, TimeSpan.FromSeconds(10)), agent.Log);
        var warning = api.Events[0];
        Assert.Equal("Warning", (string?)warning["type"]);
        Assert.Equal("broken", (string?)warning["involvedObject"]!["name"]);
        Assert.Contains("spec.egress[0].to[0].ipBlock.cidr", (string?)warning["message"], StringComparison.Ordinal);
        api.Delete("networkpolicies", broken);

        // The server goes away: the last state stays enforced and the agent says it is not ready;
        // a deletion made meanwhile applies on return, and it is ready again.
        Assert.Equal("ready", node.AgentStatus("/readyz"));
        api.Away = true;
        Assert.True(Wait.Until(() => node.AgentStatus("/readyz").StartsWith("cluster unreachable", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), agent.Log);
        string metrics = node.AgentStatus("/metrics");
        Assert.Contains("egress_agent_ready 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("egress_agent_api_reachable 0\n", metrics, StringComparison.Ordinal);
        Assert.Matches("egress_agent_api_errors_total [1-9]", metrics);
        Assert.Matches("egress_agent_event_to_enforced_seconds_count [1-9]", metrics); // the watch events above
        Assert.True(Allowed(client, ExternalV4) && !Allowed(client, OtherExternalV4), agent.Log);
        api.Delete("networkpolicies", AllowTo(ExternalV4));
        api.Away = false;
        Assert.True(Wait.Until(() => Allowed(client, OtherExternalV4), TimeSpan.FromSeconds(40)), agent.Log);
        Assert.Contains("enforcing the last known state meanwhile", agent.Log, StringComparison.Ordinal);
        Assert.True(Wait.Until(() => node.AgentStatus("/readyz") == "ready", TimeSpan.FromSeconds(10)), agent.Log);
        Assert.Contains("egress_agent_api_reachable 1\n", node.AgentStatus("/metrics"), StringComparison.Ordinal);
    }

    [KernelFact]
    public void A_pod_whose_ADD_outruns_the_watch_is_fetched_and_has_its_own_policy_at_once()
    {
        using var node = new PolicyNode();
        node.Serve(node.External, 80, "external");
        using var api = new FakeApiServer(node.Node.Path);
        api.Upsert("namespaces", new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = "team-a" } });
        api.Upsert("networkpolicies", AllowTo(OtherExternalV4));
        using var agent = AgentProcess.Start(node.Node, "run", "--kubeconfig", api.Kubeconfig(node.StateDir), "--node-name", "node-1", "--state-dir", node.StateDir);
        Assert.True(agent.WaitUntilServing(TimeSpan.FromSeconds(30)), agent.Log);

        // The pod is in the API, but the watch has not brought it yet; kubelet already runs its ADD.
        var labels = new Dictionary<string, string> { ["app"] = "client" };
        api.UpsertUnwatched("pods", new V1Pod { ApiVersion = "v1", Kind = "Pod", Metadata = new V1ObjectMeta { Name = "client", NamespaceProperty = "team-a", Labels = labels } });
        var client = node.AddPod("team-a", "client", labels, policyAgent: "required");

        // From its first packet it has its own policy, not the deny-all of an unknown pod.
        Assert.Equal("external", Talk(client.Netns, OtherExternalV4, 80));
        Assert.Null(Talk(client.Netns, ExternalV4, 80));
        Assert.Contains("get pods team-a/client", api.Requests);
    }

    [KernelFact]
    public void Nodes_from_the_API_route_their_pod_CIDRs_leave_others_routes_alone_and_an_unreachable_one_gets_an_Event()
    {
        using var node = new PolicyNode();
        using var api = new FakeApiServer(node.Node.Path);
        api.Upsert("namespaces", new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = "team-a" } });
        api.Upsert("nodes", Node("node-1", "203.0.113.1", "10.98.0.0/24"));
        // The node's uplink is 203.0.113.0/24: node-2 is on it, node-3 is not.
        api.Upsert("nodes", Node("node-2", "203.0.113.50", "10.99.0.0/24"));
        // Someone else's route to node-4's pod CIDR: it stays as it is.
        node.Node.Exec("ip", "route", "add", "10.101.0.0/24", "via", "203.0.113.60");
        api.Upsert("nodes", Node("node-4", "203.0.113.61", "10.101.0.0/24"));
        using var agent = AgentProcess.Start(node.Node, "run", "--kubeconfig", api.Kubeconfig(node.StateDir), "--node-name", "node-1", "--state-dir", node.StateDir);
        Assert.True(Wait.Until(() => Routed(node, "10.99.0.0/24"), TimeSpan.FromSeconds(30)), agent.Log);
        Assert.False(Routed(node, "10.98.0.0/24"), "no route of ours to the node's own pod CIDR");
        Assert.Contains("via 203.0.113.50", node.Node.Exec("ip", "route", "show", "exact", "10.99.0.0/24").Stdout, StringComparison.Ordinal);
        Assert.True(agent.WaitForLog("node node-4: a route to its pod CIDR 10.101.0.0/24 exists and is not ours; left alone", TimeSpan.FromSeconds(10)), agent.Log);
        Assert.Contains("via 203.0.113.60", node.Node.Exec("ip", "route", "show", "exact", "10.101.0.0/24").Stdout, StringComparison.Ordinal);

        api.Upsert("nodes", Node("node-3", "198.51.100.9", "10.100.0.0/24"));
        Assert.True(Wait.Until(() => { lock (api.Events) return api.Events.Any(e => (string?)e["involvedObject"]?["name"] == "node-3"); }, TimeSpan.FromSeconds(10)), agent.Log);
        JsonObject warning;
        lock (api.Events) warning = api.Events.Single(e => (string?)e["involvedObject"]?["name"] == "node-3");
        Assert.Equal(("Node", "PodCIDRUnreachable"), ((string?)warning["involvedObject"]!["kind"], (string?)warning["reason"]));
        Assert.Contains("198.51.100.9 is not on a directly connected network", (string?)warning["message"], StringComparison.Ordinal);
        Assert.False(Routed(node, "10.100.0.0/24"));
        Assert.Contains("egress_agent_unreachable_node_routes 2\n", node.AgentStatus("/metrics"), StringComparison.Ordinal); // node-3, and node-4's CIDR left to its owner

        api.Delete("nodes", Node("node-2", "203.0.113.50", "10.99.0.0/24"));
        Assert.True(Wait.Until(() => !Routed(node, "10.99.0.0/24"), TimeSpan.FromSeconds(10)), agent.Log);
    }

    private static V1Node Node(string name, string address, string podCidr) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1NodeSpec { PodCIDR = podCidr, PodCIDRs = [podCidr] },
        Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = address }] },
    };

    private static bool Routed(PolicyNode node, string cidr) =>
        node.Node.Exec("ip", "route", "show", "exact", cidr, "proto", "206").Stdout.Trim().Length > 0;

    private static bool Allowed(Pod client, string address) => Talk(client.Netns, address, 80) == "external";
}
