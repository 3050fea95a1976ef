using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.Netns;
using CniEgress.PolicyAgent.Agent;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.PolicyAgent.Sources;
using CniEgress.Processes;
using k8s.Models;
using static CniEgress.Benchmarks.DatapathBenchmark;

namespace CniEgress.Benchmarks;

/// <summary>New TCP connections per second (ab, one per request) and throughput (iperf3) from a
/// pod to a pod on the same node and to a pod on another node (direct routes between two node
/// namespaces on one bridge, set by <see cref="NodeRoutes"/>), without policies and with the
/// client isolated for egress and both servers for ingress (the dataplane each agent writes).</summary>
public static class CrossNodeBenchmark
{
    private const int Rounds = 5;
    private const string Underlay = "xnul";
    private static readonly string[] NodeNames = ["xnode1", "xnode2"];

    public static int Run()
    {
        var processes = new List<Process>();
        var pods = new List<string>();
        try
        {
            Shell("ip", "netns", "add", Underlay);
            Shell("ip", "-n", Underlay, "link", "add", "br0", "type", "bridge");
            Shell("ip", "-n", Underlay, "link", "set", "br0", "up");
            for (int k = 1; k <= 2; k++)
            {
                string node = NodeNames[k - 1];
                Shell("ip", "netns", "add", node);
                Shell("ip", "-n", node, "link", "set", "lo", "up");
                Shell("ip", "-n", node, "link", "add", "eth0", "type", "veth", "peer", "name", $"p{k}", "netns", Underlay);
                Shell("ip", "-n", Underlay, "link", "set", $"p{k}", "master", "br0", "up");
                Shell("ip", "-n", node, "addr", "add", $"192.0.2.{10 + k}/24", "dev", "eth0");
                Shell("ip", "-n", node, "link", "set", "eth0", "up");
            }
            var client = Wire(1, "client", pods);
            var near = Wire(1, "near", pods);
            var far = Wire(2, "far", pods);
            var nodes = Enumerable.Range(1, 2).ToDictionary(k => NodeNames[k - 1], k => new NodeState(NodeNames[k - 1],
                [IPAddress.Parse($"192.0.2.{10 + k}")], [new IPNetwork(IPAddress.Parse($"10.79.{k}.0"), 24)]));
            foreach (string node in NodeNames)
            {
                using var ns = NetworkNamespace.Open("/run/netns/" + node);
                new NodeRoutes(node, ns.OpenRouteClient, _ => { }).Sync(nodes);
            }
            foreach (var server in new[] { near, far })
            {
                processes.Add(Start("ip", "netns", "exec", server.Netns, "dotnet", typeof(CrossNodeBenchmark).Assembly.Location, "http-server", "8080"));
                processes.Add(Start("ip", "netns", "exec", server.Netns, "iperf3", "-s"));
            }
            Thread.Sleep(500);
            foreach (var server in new[] { near, far }) Shell("ip", "netns", "exec", client.Netns, "ab", "-q", "-n", "20000", "-c", "8", $"http://{server.Address}:8080/");

            var rounds = new List<(Sample Near, Sample Far, Sample NearPolicy, Sample FarPolicy)>();
            for (int round = 0; round < Rounds; round++)
            {
                var open = (Measure(client, near), Measure(client, far));
                Enforce(client, near, far);
                rounds.Add((open.Item1, open.Item2, Measure(client, near), Measure(client, far)));
                foreach (string node in NodeNames) Shell("ip", "netns", "exec", node, "nft", "delete", "table", "inet", NftRuleset.Table);
            }
            Console.WriteLine($"# Pod to pod: same node vs another node (direct routes on one bridge), {Environment.ProcessorCount} cores, median of {Rounds} rounds");
            Console.WriteLine();
            Console.WriteLine("| path | policies | new TCP connections/s (ab -c 8) | throughput (iperf3, 3 s) |");
            Console.WriteLine("|---|---|---|---|");
            void Row(string path, string policies, Func<(Sample Near, Sample Far, Sample NearPolicy, Sample FarPolicy), Sample> pick) =>
                Console.WriteLine($"| {path} | {policies} | {Median(rounds.Select(r => pick(r).Connections)):N0} | {Median(rounds.Select(r => pick(r).Bits)) / 1e9:0.00} Gbit/s |");
            Row("same node", "none", r => r.Near);
            Row("another node", "none", r => r.Far);
            Row("same node", "client egress + server ingress", r => r.NearPolicy);
            Row("another node", "client egress + server ingress", r => r.FarPolicy);
            Console.WriteLine();
            Console.WriteLine($"another node vs same node, no policies: connections {Median(rounds.Select(r => r.Far.Connections / r.Near.Connections)):P0}, throughput {Median(rounds.Select(r => r.Far.Bits / r.Near.Bits)):P0}");
            Console.WriteLine($"another node vs same node, with policies: connections {Median(rounds.Select(r => r.FarPolicy.Connections / r.NearPolicy.Connections)):P0}, throughput {Median(rounds.Select(r => r.FarPolicy.Bits / r.NearPolicy.Bits)):P0}");
            Console.WriteLine($"with policies vs without, another node: connections {Median(rounds.Select(r => r.FarPolicy.Connections / r.Far.Connections)):P0}, throughput {Median(rounds.Select(r => r.FarPolicy.Bits / r.Far.Bits)):P0}");
            return 0;
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } p.WaitForExit(5000); }
            foreach (string ns in pods.Concat(NodeNames).Append(Underlay)) ProcessRunner.Run("ip", ["netns", "del", ns], [], TimeSpan.FromSeconds(10));
        }
    }

    private sealed record WiredPod(string Name, int Node, string Netns, string HostInterface, string Address);

    private readonly record struct Sample(double Connections, double Bits);

    private static WiredPod Wire(int k, string name, List<string> pods)
    {
        string netns = "xn" + name;
        Shell("ip", "netns", "add", netns);
        pods.Add(netns);
        string config = new JsonObject
        {
            ["cniVersion"] = "1.1.0", ["name"] = "xn", ["type"] = "cni-egress", ["mtu"] = 1500, ["stateDir"] = "/run/cni-egress-" + NodeNames[k - 1],
            ["policyAgent"] = "off", ["ipMasq"] = true, ["clusterCIDRs"] = new JsonArray("10.79.0.0/16"),
            ["ipam"] = new JsonObject { ["type"] = "cni-egress", ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = $"10.79.{k}.0/24" })) },
        }.ToJsonString();
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = netns, ["CNI_NETNS"] = "/run/netns/" + netns, ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = Path.Combine(Repository.Root, "dist"),
        };
        var add = ProcessRunner.Run("ip", ["netns", "exec", NodeNames[k - 1], Path.Combine(Repository.Root, "dist", "cni-egress")], Encoding.UTF8.GetBytes(config), TimeSpan.FromSeconds(30), env);
        if (add.ExitCode != 0) throw new InvalidOperationException("ADD failed: " + add.Stdout);
        var result = JsonNode.Parse(add.Stdout)!;
        return new WiredPod(name, k, netns, (string)result["interfaces"]![0]!["name"]!, ((string)result["ips"]![0]!["address"]!).Split('/')[0]);
    }

    /// <summary>The client may open TCP 8080 and 5201 to app=server pods; the servers accept them
    /// from app=client only: each node's dataplane, as its agent would write it.</summary>
    private static void Enforce(WiredPod client, params WiredPod[] servers)
    {
        var ports = new List<V1NetworkPolicyPort> { new() { Port = 8080 }, new() { Port = 5201 } };
        V1LabelSelector App(string app) => new() { MatchLabels = new Dictionary<string, string> { ["app"] = app } };
        var policies = new List<V1NetworkPolicy>
        {
            new() { Metadata = new V1ObjectMeta { Name = "client", NamespaceProperty = "bench" }, Spec = new V1NetworkPolicySpec { PodSelector = App("client"), PolicyTypes = ["Egress"],
                Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = App("server") }], Ports = ports }] } },
            new() { Metadata = new V1ObjectMeta { Name = "servers", NamespaceProperty = "bench" }, Spec = new V1NetworkPolicySpec { PodSelector = App("server"), PolicyTypes = ["Ingress"],
                Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { PodSelector = App("client") }], Ports = ports }] } },
        };
        var all = servers.Prepend(client).ToList();
        var states = all.Select(p => new PodState("bench", p.Name, new Dictionary<string, string> { ["app"] = p == client ? "client" : "server" }, [IPAddress.Parse(p.Address)], [])).ToList();
        for (int k = 1; k <= 2; k++)
        {
            var local = all.Where(p => p.Node == k).Select(p => new LocalPod("bench", p.Name, p.HostInterface, [IPAddress.Parse(p.Address)])).ToList();
            var desired = PolicyCompiler.Compile(new ClusterSnapshot([new NamespaceState("bench", new Dictionary<string, string>())], states, policies, local));
            using var ns = NetworkNamespace.Open("/run/netns/" + NodeNames[k - 1]);
            using var nftables = ns.OpenNftablesClient();
            new NftDataplane(new NftCommand("ip", "netns", "exec", NodeNames[k - 1], "nft"), new NetlinkElementWriter(nftables)).FullSync(desired);
        }
    }

    private static Sample Measure(WiredPod client, WiredPod server)
    {
        string ab = Shell("ip", "netns", "exec", client.Netns, "ab", "-q", "-n", "20000", "-c", "8", $"http://{server.Address}:8080/");
        double rate = double.Parse(ab.Split('\n').First(l => l.StartsWith("Requests per second", StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        double bits = (double)JsonNode.Parse(Shell("ip", "netns", "exec", client.Netns, "iperf3", "-c", server.Address, "-t", "3", "-J"))!["end"]!["sum_received"]!["bits_per_second"]!;
        return new Sample(rate, bits);
    }
}
