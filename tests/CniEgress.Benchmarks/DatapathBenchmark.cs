using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.Processes;
using k8s.Models;

namespace CniEgress.Benchmarks;

/// <summary>New TCP connections per second (ab, one connection per request) and throughput
/// (iperf3) between a plugin-wired pod and an external host through the node, both ways (out of
/// the pod, into it), with: no rules; conntrack alone; our table with the pod isolated for egress
/// and ingress by a policy of 100k CIDR entries each way; and, out of the pod, the egress policy as
/// a linear nftables rule list (one rule per CIDR, established flows accepted first, as rule-chain designs do).</summary>
public static class DatapathBenchmark
{
    private const string Node = "dpnode", External = "dpext", Pod = "dppod";
    private const string Server = "203.0.113.10", PodAddress = "10.77.0.2";
    private const int Rounds = 7;

    public static int Run(int cidrs, int linearRules)
    {
        var processes = new List<Process>();
        try
        {
            string podInterface = BuildWorld(processes);
            var policy = PolicyWithCidrs(cidrs);
            Console.WriteLine($"# Datapath: pod -> node -> external host, {Environment.ProcessorCount} cores");
            Console.WriteLine();
            Console.WriteLine("| direction | ruleset | load time | new TCP connections/s (ab -c 8) | throughput (iperf3, 3 s) |");
            Console.WriteLine("|---|---|---|---|---|");
            // Unmeasured warm-up: the in-process HTTP servers' first requests run unoptimized code.
            Shell("ip", "netns", "exec", Pod, "ab", "-q", "-n", "20000", "-c", "8", $"http://{Server}:8080/");
            Shell("ip", "netns", "exec", External, "ab", "-q", "-n", "20000", "-c", "8", $"http://{PodAddress}:8080/");
            var snapshot = new ClusterSnapshot([], [new PodState("bench", "client", new Dictionary<string, string> { ["app"] = "client" }, PodAddresses(), [])],
                [policy], [new LocalPod("bench", "client", podInterface, PodAddresses())]);
            var desired = PolicyCompiler.Compile(snapshot);
            using var netns = CniEgress.Netns.NetworkNamespace.Open("/run/netns/" + Node);
            using var nftables = netns.OpenNftablesClient();
            // This VM drifts by several percent within a run, so the baseline and cni-egress
            // alternate, round by round, and each round gives a ratio; the figure is their median.
            var rounds = new List<Round>();
            for (int round = 0; round < Rounds; round++)
            {
                var baseline = new Both(Sample(outbound: true), Sample(outbound: false));
                // Reference: conntrack alone (one `ct state` rule), what any stateful ruleset pays.
                Shell("ip", "netns", "exec", Node, "nft", "add table inet ctonly; add chain inet ctonly pre { type filter hook prerouting priority 0; }; add rule inet ctonly pre ct state established,related accept");
                var conntrack = new Both(Sample(outbound: true), Sample(outbound: false));
                Shell("ip", "netns", "exec", Node, "nft", "delete", "table", "inet", "ctonly");
                var clock = Stopwatch.StartNew();
                new NftDataplane(new NftCommand("ip", "netns", "exec", Node, "nft"), new NetlinkElementWriter(nftables)).FullSync(desired);
                double load = clock.Elapsed.TotalMilliseconds;
                rounds.Add(new Round(baseline, conntrack, new Both(Sample(outbound: true), Sample(outbound: false)), load));
                Shell("ip", "netns", "exec", Node, "nft", "delete", "table", "inet", NftRuleset.Table);
            }
            foreach (bool outbound in new[] { true, false })
            {
                string direction = outbound ? "out of the pod" : "into the pod";
                Measurement Of(Both both) => outbound ? both.Out : both.In;
                Row(direction, "no rules (baseline)", "-", Median(rounds.Select(r => Of(r.Baseline).Connections)), Median(rounds.Select(r => Of(r.Baseline).Bits)));
                Row(direction, "reference: conntrack only (one `ct state` rule)", "-", Median(rounds.Select(r => Of(r.Conntrack).Connections)), Median(rounds.Select(r => Of(r.Conntrack).Bits)));
                Row(direction, $"cni-egress: {cidrs:N0} CIDR entries in each of the pod's classes (egress, ingress)", $"{Median(rounds.Select(r => r.Load)):0} ms",
                    Median(rounds.Select(r => Of(r.Ours).Connections)), Median(rounds.Select(r => Of(r.Ours).Bits)));
            }
            var linear = Measure($"linear rule list: {linearRules:N0} rules, allowed CIDR last", () => ApplyLinear(podInterface, linearRules));
            Console.WriteLine();
            foreach (bool outbound in new[] { true, false })
            {
                Measurement Of(Both both) => outbound ? both.Out : both.In;
                string direction = outbound ? "out of the pod" : "into the pod";
                Console.WriteLine($"{direction}: cni-egress vs baseline, median of {Rounds} paired rounds: connections {Median(rounds.Select(r => Of(r.Ours).Connections / Of(r.Baseline).Connections)):P0}, throughput {Median(rounds.Select(r => Of(r.Ours).Bits / Of(r.Baseline).Bits)):P0} (target >= 95%)");
                Console.WriteLine($"  per round (connections): {string.Join(", ", rounds.Select(r => $"{Of(r.Ours).Connections / Of(r.Baseline).Connections:P0}"))}");
                Console.WriteLine($"{direction}: conntrack only vs baseline, same rounds: connections {Median(rounds.Select(r => Of(r.Conntrack).Connections / Of(r.Baseline).Connections)):P0}, throughput {Median(rounds.Select(r => Of(r.Conntrack).Bits / Of(r.Baseline).Bits)):P0}");
                Console.WriteLine($"{direction}: cni-egress vs conntrack only, same rounds: connections {Median(rounds.Select(r => Of(r.Ours).Connections / Of(r.Conntrack).Connections)):P0}, throughput {Median(rounds.Select(r => Of(r.Ours).Bits / Of(r.Conntrack).Bits)):P0}");
            }
            double baselineConnections = Median(rounds.Select(r => r.Baseline.Out.Connections)), baselineBits = Median(rounds.Select(r => r.Baseline.Out.Bits));
            Console.WriteLine($"linear list (out of the pod) vs baseline median: connections {linear.Connections / baselineConnections:P0}, throughput {linear.Throughput / baselineBits:P0}");
            return 0;
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } p.WaitForExit(5000); }
            foreach (string ns in new[] { Pod, External, Node }) ProcessRunner.Run("ip", ["netns", "del", ns], [], TimeSpan.FromSeconds(10));
        }
    }

    private static List<IPAddress> PodAddresses() => [IPAddress.Parse(PodAddress)];

    private readonly record struct Measurement(double Connections, double Bits);

    private readonly record struct Both(Measurement Out, Measurement In);

    private readonly record struct Round(Both Baseline, Both Conntrack, Both Ours, double Load);

    /// <summary>One ab run and one iperf3 run: the pod as the client (outbound) or as the server.</summary>
    private static Measurement Sample(bool outbound)
    {
        var (client, server) = outbound ? (Pod, Server) : (External, PodAddress);
        string ab = Shell("ip", "netns", "exec", client, "ab", "-q", "-n", "20000", "-c", "8", $"http://{server}:8080/");
        double rate = double.Parse(ab.Split('\n').First(l => l.StartsWith("Requests per second", StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        double bits = (double)JsonNode.Parse(Shell("ip", "netns", "exec", client, "iperf3", "-c", server, "-t", "3", "-J"))!["end"]!["sum_received"]!["bits_per_second"]!;
        return new Measurement(rate, bits);
    }

    private static void Row(string direction, string label, string load, double rate, double bits) =>
        Console.WriteLine($"| {direction} | {label} | {load} | {rate:N0} | {bits / 1e9:0.00} Gbit/s |");

    private static (double Connections, double Throughput) Measure(string label, Action? apply)
    {
        var clock = Stopwatch.StartNew();
        apply?.Invoke();
        string load = apply == null ? "-" : $"{clock.Elapsed.TotalMilliseconds:0} ms";
        double rate = Median(Enumerable.Range(0, 3).Select(_ =>
        {
            string ab = Shell("ip", "netns", "exec", Pod, "ab", "-q", "-n", "20000", "-c", "8", $"http://{Server}:8080/");
            return double.Parse(ab.Split('\n').First(l => l.StartsWith("Requests per second", StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }));
        double bits = Median(Enumerable.Range(0, 3).Select(_ =>
            (double)JsonNode.Parse(Shell("ip", "netns", "exec", Pod, "iperf3", "-c", Server, "-t", "3", "-J"))!["end"]!["sum_received"]!["bits_per_second"]!));
        Row("out of the pod", label, load, rate, bits);
        return (rate, bits);
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static V1NetworkPolicy PolicyWithCidrs(int count)
    {
        var random = new Random(1);
        var peers = Enumerable.Range(0, count - 1).Select(_ => new V1NetworkPolicyPeer
        {
            IpBlock = new V1IPBlock { Cidr = $"{random.Next(11, 100)}.{random.Next(256)}.{random.Next(256)}.0/24" },
        }).Append(new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "203.0.113.0/24" } }).ToList();
        return new V1NetworkPolicy
        {
            Metadata = new V1ObjectMeta { Name = "many-cidrs", NamespaceProperty = "bench" },
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector(),
                PolicyTypes = ["Egress", "Ingress"],
                Egress = [new V1NetworkPolicyEgressRule { To = peers, Ports = [new V1NetworkPolicyPort { Port = 8080 }, new V1NetworkPolicyPort { Port = 5201 }] }],
                Ingress = [new V1NetworkPolicyIngressRule { FromProperty = peers, Ports = [new V1NetworkPolicyPort { Port = 8080 }, new V1NetworkPolicyPort { Port = 5201 }] }],
            },
        };
    }

    private static void ApplyLinear(string podInterface, int rules)
    {
        var random = new Random(1);
        var text = new StringBuilder();
        text.Append("table inet linear {\n chain prerouting {\n  type filter hook prerouting priority dstnat + 10; policy accept;\n");
        text.Append(CultureInfo.InvariantCulture, $"  iifname \"{podInterface}\" jump pod\n }}\n chain pod {{\n  ct state established,related accept\n");
        for (int i = 0; i < rules - 1; i++)
            text.Append(CultureInfo.InvariantCulture, $"  ip daddr {random.Next(11, 100)}.{random.Next(256)}.{random.Next(256)}.0/24 tcp dport {{ 8080, 5201 }} accept\n");
        text.Append("  ip daddr 203.0.113.0/24 tcp dport { 8080, 5201 } accept\n  drop\n }\n}\n");
        new NftCommand("ip", "netns", "exec", Node, "nft").Apply(text.ToString());
    }

    private static string BuildWorld(List<Process> processes)
    {
        foreach (string ns in new[] { Node, External, Pod }) Shell("ip", "netns", "add", ns);
        foreach (string ns in new[] { Node, External, Pod }) Shell("ip", "-n", ns, "link", "set", "lo", "up");
        Shell("ip", "-n", Node, "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", External);
        Shell("ip", "-n", Node, "addr", "add", "203.0.113.1/24", "dev", "uplink");
        Shell("ip", "-n", Node, "link", "set", "uplink", "up");
        Shell("ip", "-n", External, "addr", "add", Server + "/24", "dev", "eth0");
        Shell("ip", "-n", External, "link", "set", "eth0", "up");
        Shell("ip", "-n", External, "route", "add", "default", "via", "203.0.113.1");
        string config = """{"cniVersion":"1.1.0","name":"dp","type":"cni-egress","mtu":1500,"stateDir":"/run/cni-egress-dp","policyAgent":"off","ipam":{"type":"cni-egress","ranges":[[{"subnet":"10.77.0.0/24"}]]}}""";
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "dp", ["CNI_NETNS"] = "/run/netns/" + Pod, ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = Path.Combine(Repo, "dist"),
        };
        var add = ProcessRunner.Run("ip", ["netns", "exec", Node, Path.Combine(Repo, "dist", "cni-egress")], Encoding.UTF8.GetBytes(config), TimeSpan.FromSeconds(30), env);
        if (add.ExitCode != 0) throw new InvalidOperationException("ADD failed: " + add.Stdout);
        string podInterface = (string)JsonNode.Parse(add.Stdout)!["interfaces"]![0]!["name"]!;
        processes.Add(Start("ip", "netns", "exec", External, "dotnet", typeof(DatapathBenchmark).Assembly.Location, "http-server", "8080"));
        processes.Add(Start("ip", "netns", "exec", External, "iperf3", "-s"));
        processes.Add(Start("ip", "netns", "exec", Pod, "dotnet", typeof(DatapathBenchmark).Assembly.Location, "http-server", "8080"));
        processes.Add(Start("ip", "netns", "exec", Pod, "iperf3", "-s"));
        Thread.Sleep(500);
        return podInterface;
    }

    internal static Process Start(params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in command[1..]) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    internal static string Shell(params string[] command)
    {
        var outcome = ProcessRunner.Run(command[0], command[1..], [], TimeSpan.FromSeconds(300));
        if (outcome.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)}: {outcome.Stderr}");
        return outcome.Stdout;
    }

    private static readonly string Repo = Repository.Root;
}
