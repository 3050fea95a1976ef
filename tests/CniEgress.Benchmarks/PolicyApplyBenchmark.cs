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
        return 0;
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
