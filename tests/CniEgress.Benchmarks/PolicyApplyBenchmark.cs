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

    /// <summary>(policies, pods, CIDR entries) of each synthetic cluster.</summary>
    private static readonly (int, int, int)[] Sizes = [(100, 1_000, 1_000), (1_000, 10_000, 10_000), (10_000, 50_000, 100_000)];

    /// <param name="withIngress">Every synthetic policy also isolates its pods for ingress, with as
    /// many ipBlocks `from` as `to` and a pod-selector peer on the named port, so both sides are loaded.</param>
    /// <param name="largestOnly">Only the largest size (a quicker run while working on it).</param>
    public static int Run(bool withIngress, bool largestOnly)
    {
        ingress = withIngress;
        sizes = largestOnly ? Sizes[^1..] : Sizes;
        string what = withIngress ? "Egress + ingress policy (every policy both ways)" : "Egress policy";
        Console.WriteLine($"# {what}: compile + full apply (structure with nft, elements and the switch in one nfnetlink transaction)");
        Console.WriteLine();
        Console.WriteLine("| policies | pods | CIDR entries | classes | kernel elements | compile | apply | total | resync of the loaded table | reference: all in one `nft -f` |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (policies, pods, cidrs) in sizes)
        {
            var snapshot = Synthetic(policies, pods, cidrs);
            // The input is long-lived in the agent (its informer caches); settle it into the old
            // generation first, so the figure is the compiler's work and not the generator's garbage.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var clock = Stopwatch.StartNew();
            var desired = PolicyCompiler.Compile(snapshot);
            double compile = clock.Elapsed.TotalMilliseconds;
            var slots = SlotPools.Fresh(desired);
            int elements = TableContents.Diff(TableContents.Empty, TableContents.Of(desired, slots)).Sum(c => c.Elements.Count);
            string netns = $"policybench{policies}";
            PluginLatencyBenchmark.Ok("ip", "netns", "add", netns);
            try
            {
                using var ns = CniEgress.Netns.NetworkNamespace.Open("/run/netns/" + netns);
                using var client = ns.OpenNftablesClient();
                var nft = new NftCommand("ip", "netns", "exec", netns, "nft");
                var dataplane = new NftDataplane(nft, new NetlinkElementWriter(client));
                clock.Restart();
                dataplane.FullSync(desired);
                double apply = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                dataplane.FullSync(desired);
                double resync = clock.Elapsed.TotalMilliseconds;
                PluginLatencyBenchmark.Ok("ip", "netns", "exec", netns, "nft", "delete", "table", "inet", NftRuleset.Table);
                string transaction = NftRuleset.FullSync(desired, slots, []);
                clock.Restart();
                nft.Apply(transaction);
                double text = clock.Elapsed.TotalMilliseconds;
                Console.WriteLine($"| {policies:N0} | {pods:N0} | {cidrs:N0} | {desired.Classes.Count + desired.Ingress.Classes.Count} | {elements:N0} | {compile:0} ms | {apply:0} ms | {compile + apply:0} ms | {resync:0} ms | {text:0} ms |");
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

    /// <summary>Per size: after a full sync and 40 warm-up changes, 200 changes of each kind (even: the change, odd: its
    /// undo), each told to a warm <see cref="PolicyCompilation"/>, rebuilt, diffed and applied in
    /// one nfnetlink transaction. The figure is the whole path, event to kernel.</summary>
    private static void IncrementalUpdates()
    {
        // As the agent runs: a long-lived process, JIT warmed up, background GC kept short.
        System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.SustainedLowLatency;
        Console.WriteLine("# Incremental updates: event -> recompile what it touches -> element diff -> one nfnetlink transaction");
        Console.WriteLine();
        Console.WriteLine("| size (policies / pods / CIDRs) | change | p50 | p99 | max | elements changed | of which compile p50 | collections gen0/1/2 |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var (policies, pods, cidrs) in sizes)
        {
            var snapshot = Synthetic(policies, pods, cidrs);
            string netns = $"incbench{policies}";
            PluginLatencyBenchmark.Ok("ip", "netns", "add", netns);
            try
            {
                using var ns = CniEgress.Netns.NetworkNamespace.Open("/run/netns/" + netns);
                using var client = ns.OpenNftablesClient();
                var writer = new CountingWriter(new NetlinkElementWriter(client));
                var dataplane = new NftDataplane(new NftCommand("ip", "netns", "exec", netns, "nft"), writer);
                var compilation = new PolicyCompilation();
                compilation.Load(snapshot);
                dataplane.FullSync(compilation.Build());
                foreach (var (name, change) in Changes(snapshot, compilation))
                {
                    var total = new List<double>();
                    var compile = new List<double>();
                    int changed = 0;
                    int[] collections = new int[3];
                    for (int i = 0; i < Warmup + 200; i++)
                    {
                        if (i == Warmup)
                        {
                            total.Clear();
                            compile.Clear();
                            for (int g = 0; g < 3; g++) collections[g] = GC.CollectionCount(g);
                        }
                        var clock = Stopwatch.StartNew();
                        change(i % 2 == 0);
                        var desired = compilation.Build();
                        compile.Add(clock.Elapsed.TotalMilliseconds);
                        writer.Elements = 0;
                        if (!dataplane.Update(desired)) throw new InvalidOperationException(name + " needed a full sync");
                        total.Add(clock.Elapsed.TotalMilliseconds);
                        changed = Math.Max(changed, writer.Elements);
                    }
                    Console.WriteLine($"| {policies:N0} / {pods:N0} / {cidrs:N0} | {name} | {PluginLatencyBenchmark.Percentile(total, 50):0.00} ms | {PluginLatencyBenchmark.Percentile(total, 99):0.00} ms | {total.Max():0.00} ms | {changed} | {PluginLatencyBenchmark.Percentile(compile, 50):0.00} ms | {string.Join('/', Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - collections[g]))} |");
                }
            }
            finally
            {
                PluginLatencyBenchmark.Ok("ip", "netns", "del", netns);
            }
        }
        Console.WriteLine();
        Console.WriteLine("Target: p99 <= 5 ms and flat as the ruleset grows.");
    }

    private const int Warmup = 40;

    /// <summary>Each kind of change, as (name, apply(true) = change / apply(false) = undo).</summary>
    private static IEnumerable<(string Name, Action<bool> Apply)> Changes(ClusterSnapshot snapshot, PolicyCompilation compilation)
    {
        var local = snapshot.LocalPods[0];
        var localState = snapshot.Pods.First(p => p.Namespace == local.Namespace && p.Name == local.Name);
        var extra = local with { Name = "extra", HostInterface = "cegffffffffffff", Addresses = [IPAddress.Parse("10.255.255.1")] };
        // Picked by the pod-selector peer (app{p+1}, named port "http") of the local pod's policies.
        var remote = snapshot.Pods[1] with { Namespace = local.Namespace, Name = "remote-new", Addresses = [IPAddress.Parse("10.254.0.1")], Ports = [new ContainerPortState("http", 8080, "TCP")] };
        var policy = snapshot.Policies[0];
        var widened = k8s.KubernetesJson.Deserialize<V1NetworkPolicy>(k8s.KubernetesJson.Serialize(policy));
        widened.Spec.Egress[0].To[0].IpBlock.Cidr = "198.18.0.0/24";
        var added = k8s.KubernetesJson.Deserialize<V1NetworkPolicy>(k8s.KubernetesJson.Serialize(policy));
        added.Metadata.Name = "added";
        added.Spec.Egress[0].Ports = [new V1NetworkPolicyPort { Port = 8443 }];
        var ns = snapshot.Namespaces[0];
        yield return ("local pod added / removed", on => { if (on) compilation.SetLocalPod(extra); else compilation.RemoveLocalPod(extra.HostInterface); });
        yield return ("remote pod added / removed (a policy peer)", on => { if (on) compilation.SetPod(remote); else compilation.RemovePod(remote.Namespace, remote.Name); });
        yield return ("local pod label change (moves class)", on => compilation.SetPod(on ? localState with { Labels = new Dictionary<string, string> { ["app"] = "app-none" } } : localState));
        yield return ("policy CIDR changed", on => compilation.SetPolicy(on ? widened : policy));
        yield return ("policy added / deleted (new port)", on => { if (on) compilation.SetPolicy(added); else compilation.RemovePolicy(added.Metadata.NamespaceProperty, added.Metadata.Name); });
        yield return ("namespace label change", on => compilation.SetNamespace(on ? ns with { Labels = new Dictionary<string, string> { ["team"] = "other" } } : ns));
    }

    private sealed class CountingWriter(INftElementWriter inner) : INftElementWriter
    {
        public int Elements { get; set; }

        public void Apply(IReadOnlyList<CniEgress.Netlink.Nftables.NftElementChange> changes)
        {
            Elements += changes.Sum(c => c.Elements.Count);
            inner.Apply(changes);
        }
    }

    private static bool ingress;
    private static (int, int, int)[] sizes = Sizes;

    internal static ClusterSnapshot Synthetic(int policyCount, int podCount, int cidrCount)
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
            }).ToList();
            return new V1NetworkPolicy
            {
                Metadata = new V1ObjectMeta { Name = $"np{p}", NamespaceProperty = $"ns{p % Namespaces}" },
                Spec = new V1NetworkPolicySpec
                {
                    PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = $"app{p % 20}" } },
                    PolicyTypes = ingress ? ["Egress", "Ingress"] : ["Egress"],
                    Egress =
                    [
                        new V1NetworkPolicyEgressRule { To = blocks, Ports = [new V1NetworkPolicyPort { Port = 443 }, new V1NetworkPolicyPort { Port = 53, Protocol = "UDP" }] },
                        new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = $"app{(p + 1) % 20}" } } }], Ports = [new V1NetworkPolicyPort { Port = "http" }] },
                    ],
                    Ingress = !ingress ? null :
                    [
                        new V1NetworkPolicyIngressRule { FromProperty = blocks, Ports = [new V1NetworkPolicyPort { Port = 443 }] },
                        new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = $"app{(p + 19) % 20}" } } }], Ports = [new V1NetworkPolicyPort { Port = "http" }] },
                    ],
                },
            };
        }).ToList();
        var local = pods.Take(LocalPods).Select((pod, i) => new LocalPod(pod.Namespace, pod.Name, $"ceg{i:x12}", pod.Addresses)).ToList();
        return new ClusterSnapshot(namespaces, pods, policies, local);
    }
}
