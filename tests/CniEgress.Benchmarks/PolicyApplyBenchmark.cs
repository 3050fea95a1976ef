using System.Diagnostics;
using System.Net;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using k8s.Models;

namespace CniEgress.Benchmarks;

/// <summary>Compile + full apply of the egress dataplane for synthetic clusters: policies spread
/// over 100 namespaces, each selecting one app label, each with ipBlock CIDRs, a pod-selector
/// peer and ports; 110 of the pods are local to this node. Applied with `nft -f` into a table
/// of a fresh network namespace, so the figure includes the kernel's work.</summary>
public static class PolicyApplyBenchmark
{
    private const int Namespaces = 100;
    private const int LocalPods = 110;

    public static int Run()
    {
        Console.WriteLine("# Egress policy: compile + full apply (nft -f, one transaction)");
        Console.WriteLine();
        Console.WriteLine("| policies | pods | CIDR entries | classes | set elements | compile | apply | total |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var (policies, pods, cidrs) in new[] { (100, 1_000, 1_000), (1_000, 10_000, 10_000), (10_000, 50_000, 100_000) })
        {
            var snapshot = Synthetic(policies, pods, cidrs);
            var clock = Stopwatch.StartNew();
            var desired = EgressCompiler.Compile(snapshot);
            double compile = clock.Elapsed.TotalMilliseconds;
            string transaction = EgressRuleset.FullSync(desired, []);
            int elements = transaction.Split('\n').Where(l => l.StartsWith("add element", StringComparison.Ordinal)).Sum(l => l.Count(c => c == ',') + 1);
            string netns = $"policybench{policies}";
            PluginLatencyBenchmark.Ok("ip", "netns", "add", netns);
            try
            {
                clock.Restart();
                new NftCommand("ip", "netns", "exec", netns, "nft").Apply(transaction);
                double apply = clock.Elapsed.TotalMilliseconds;
                Console.WriteLine($"| {policies:N0} | {pods:N0} | {cidrs:N0} | {desired.Classes.Count} | {elements:N0} | {compile:0} ms | {apply:0} ms | {compile + apply:0} ms |");
            }
            finally
            {
                PluginLatencyBenchmark.Ok("ip", "netns", "del", netns);
            }
        }
        Console.WriteLine();
        Console.WriteLine("Target: the largest size <= 2000 ms total.");
        Console.WriteLine();
        IncrementalUpdates();
        return 0;
    }

    /// <summary>Per size: after a full sync, 100 updates of each kind; the diff + nfnetlink apply
    /// time (the kernel side, O(change)) and the compile time (currently a full recompute).</summary>
    private static void IncrementalUpdates()
    {
        Console.WriteLine("# Incremental updates: element diff + one nfnetlink transaction (after a full sync)");
        Console.WriteLine();
        Console.WriteLine("| size (policies / pods / CIDRs) | update | kernel apply p50 | kernel apply p99 | elements changed | diff p50 | compile p50 |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var (policies, pods, cidrs) in new[] { (100, 1_000, 1_000), (1_000, 10_000, 10_000), (10_000, 50_000, 100_000) })
        {
            var snapshot = Synthetic(policies, pods, cidrs);
            string netns = $"incbench{policies}";
            PluginLatencyBenchmark.Ok("ip", "netns", "add", netns);
            try
            {
                using var ns = CniEgress.Netns.NetworkNamespace.Open("/run/netns/" + netns);
                using var client = ns.OpenNftablesClient();
                var dataplane = new EgressDataplane(new NftCommand("ip", "netns", "exec", netns, "nft"), new NetlinkElementWriter(client));
                dataplane.FullSync(EgressCompiler.Compile(snapshot));
                var kinds = new (string Name, Func<int, ClusterSnapshot> Change)[]
                {
                    ("pod added / removed", i => i % 2 == 0 ? snapshot with { LocalPods = [.. snapshot.LocalPods, ExtraLocalPod(snapshot)] } : snapshot),
                    ("pod label change (moves class)", i => i % 2 == 0 ? Relabel(snapshot) : snapshot),
                    ("policy CIDR changed", i => i % 2 == 0 ? ChangeCidr(snapshot) : snapshot),
                };
                foreach (var (name, change) in kinds)
                {
                    var apply = new List<double>();
                    var compile = new List<double>();
                    var diffing = new List<double>();
                    int changed = 0;
                    var previous = TableContents.Of(EgressCompiler.Compile(snapshot));
                    for (int i = 0; i < 100; i++)
                    {
                        var clock = Stopwatch.StartNew();
                        var desired = EgressCompiler.Compile(change(i));
                        if (i < 6) compile.Add(clock.Elapsed.TotalMilliseconds);
                        var next = TableContents.Of(desired);
                        clock.Restart();
                        var diff = TableContents.Diff(previous, next) ?? throw new InvalidOperationException(name + " changed the rules' shape");
                        diffing.Add(clock.Elapsed.TotalMilliseconds);
                        clock.Restart();
                        client.ApplyElementChanges(CniEgress.Netlink.Nftables.NftFamily.Inet, EgressRuleset.Table, diff);
                        apply.Add(clock.Elapsed.TotalMilliseconds);
                        changed = Math.Max(changed, diff.Sum(d => d.Elements.Count));
                        previous = next;
                    }
                    Console.WriteLine($"| {policies:N0} / {pods:N0} / {cidrs:N0} | {name} | {PluginLatencyBenchmark.Percentile(apply, 50):0.00} ms | {PluginLatencyBenchmark.Percentile(apply, 99):0.00} ms | {changed} | {PluginLatencyBenchmark.Percentile(diffing, 50):0.0} ms | {PluginLatencyBenchmark.Percentile(compile, 50):0} ms |");
                }
            }
            finally
            {
                PluginLatencyBenchmark.Ok("ip", "netns", "del", netns);
            }
        }
        Console.WriteLine();
        Console.WriteLine("Target: p99 <= 5 ms and flat as the ruleset grows. \"kernel apply\": one nfnetlink transaction of the changed elements; \"diff\": comparing the two tables' contents; \"compile\": a full recompile of the snapshot.");
    }

    private static LocalPod ExtraLocalPod(ClusterSnapshot snapshot)
    {
        var template = snapshot.LocalPods[0];
        return template with { Name = template.Name, HostInterface = "cegffffffffffff", Addresses = [IPAddress.Parse("10.255.255.1")] };
    }

    private static ClusterSnapshot Relabel(ClusterSnapshot snapshot)
    {
        var local = snapshot.LocalPods[0];
        var pods = snapshot.Pods.Select(p => p.Namespace == local.Namespace && p.Name == local.Name
            ? p with { Labels = new Dictionary<string, string> { ["app"] = "app-none" } } : p).ToList();
        return snapshot with { Pods = pods };
    }

    private static ClusterSnapshot ChangeCidr(ClusterSnapshot snapshot)
    {
        var policies = snapshot.Policies.ToList();
        var first = policies[0];
        var copy = k8s.KubernetesJson.Deserialize<V1NetworkPolicy>(k8s.KubernetesJson.Serialize(first));
        copy.Spec.Egress[0].To[0].IpBlock.Cidr = "198.18.0.0/24";
        policies[0] = copy;
        return snapshot with { Policies = policies };
    }

    private static ClusterSnapshot Synthetic(int policyCount, int podCount, int cidrCount)
    {
        var random = new Random(42);
        var namespaces = Enumerable.Range(0, Namespaces).Select(i => new NamespaceState($"ns{i}", new Dictionary<string, string> { ["team"] = $"t{i % 10}" })).ToList();
        var pods = Enumerable.Range(0, podCount).Select(i => new PodState($"ns{i % Namespaces}", $"pod{i}",
            new Dictionary<string, string> { ["app"] = $"app{i % 20}" },
            [new IPAddress(new byte[] { 10, (byte)(i >> 16), (byte)(i >> 8), (byte)i })],
            i % 3 == 0 ? [new ContainerPortState("http", 8080, "TCP")] : [])).ToList();
        int cidrsPerPolicy = Math.Max(1, cidrCount / policyCount);
        var policies = Enumerable.Range(0, policyCount).Select(p =>
        {
            var blocks = Enumerable.Range(0, cidrsPerPolicy).Select(_ => new V1NetworkPolicyPeer
            {
                IpBlock = new V1IPBlock { Cidr = $"{random.Next(11, 223)}.{random.Next(256)}.{random.Next(256)}.0/24" },
            });
            return new V1NetworkPolicy
            {
                Metadata = new V1ObjectMeta { Name = $"np{p}", NamespaceProperty = $"ns{p % Namespaces}" },
                Spec = new V1NetworkPolicySpec
                {
                    PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = $"app{p % 20}" } },
                    PolicyTypes = ["Egress"],
                    Egress =
                    [
                        new V1NetworkPolicyEgressRule { To = blocks.ToList(), Ports = [new V1NetworkPolicyPort { Port = 443 }, new V1NetworkPolicyPort { Port = 53, Protocol = "UDP" }] },
                        new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = $"app{(p + 1) % 20}" } } }], Ports = [new V1NetworkPolicyPort { Port = "http" }] },
                    ],
                },
            };
        }).ToList();
        var local = pods.Take(LocalPods).Select((pod, i) => new LocalPod(pod.Namespace, pod.Name, $"ceg{i:x12}", pod.Addresses)).ToList();
        return new ClusterSnapshot(namespaces, pods, policies, local);
    }
}
