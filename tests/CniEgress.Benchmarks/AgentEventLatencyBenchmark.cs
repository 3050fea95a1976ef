using System.Diagnostics;
using System.Globalization;
using CniEgress.PolicyAgent.Policy;
using CniEgress.TestSupport;
using k8s.Models;

namespace CniEgress.Benchmarks;

/// <summary>Event-to-enforced latency of dist/egress-agent fed by the fake API server over real
/// list/watch: the synthetic cluster (with attachment records for the local pods) is served, the
/// agent syncs, then changes arrive one at a time on the watches. Each latency runs from the
/// moment the fake server writes the watch event to the moment the agent logs that the kernel
/// holds the change (its log line follows the acked nfnetlink transaction). The agent's own
/// histograms (/metrics) are printed next to it: the sync alone is the reference the pipeline
/// (watch, decode, coalescing, main loop) is compared against.</summary>
public static class AgentEventLatencyBenchmark
{
    private const string StatusAddress = "127.0.0.1:9799";

    public static int Run(int policies, int pods, int events)
    {
        var snapshot = PolicyApplyBenchmark.Synthetic(policies, pods, policies * 10);
        string root = "/run/cni-egress-bench/events";
        Directory.CreateDirectory(root);
        AgentMemoryBenchmark.WriteAttachments(snapshot, root);
        using var api = new FakeApiServer("/proc/self/ns/net");
        foreach (var ns in snapshot.Namespaces) api.Upsert("namespaces", SyntheticObjects.Namespace(ns));
        foreach (var pod in snapshot.Pods) api.Upsert("pods", SyntheticObjects.Pod(pod));
        foreach (var policy in snapshot.Policies) api.Upsert("networkpolicies", SyntheticObjects.Policy(policy));

        var info = new ProcessStartInfo(Repository.Dist("egress-agent")) { UseShellExecute = false, RedirectStandardError = true };
        foreach (string a in new[] { "run", "--kubeconfig", api.Kubeconfig(root), "--node-name", "bench", "--state-dir", root, "--status-address", StatusAddress })
            info.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var agent = Process.Start(info)!;
        using var applied = new SemaphoreSlim(0);
        long lastApplied = 0;
        agent.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("applied", StringComparison.Ordinal) != true) return;
            Interlocked.Exchange(ref lastApplied, Stopwatch.GetTimestamp());
            applied.Release();
        };
        agent.BeginErrorReadLine();
        try
        {
            if (!applied.Wait(TimeSpan.FromMinutes(5))) throw new TimeoutException("the agent did not finish its first sync within 5 minutes");
            double firstSync = clock.Elapsed.TotalSeconds;
            Thread.Sleep(1000);
            while (applied.Wait(0)) { }

            var latencies = new Dictionary<string, List<double>>();
            var firstOfKind = new List<double>();
            int missed = 0;
            var changes = Changes(snapshot).ToList();
            for (int i = 0; i < events + changes.Count; i++)
            {
                var (kind, change) = changes[i % changes.Count];
                long sent = Stopwatch.GetTimestamp();
                change(api, i / changes.Count);
                if (!applied.Wait(TimeSpan.FromSeconds(5)))
                {
                    missed++;
                    continue;
                }
                double ms = Stopwatch.GetElapsedTime(sent, Interlocked.Read(ref lastApplied)).TotalMilliseconds;
                // The first change of each kind runs paths (and fills caches) nothing has warmed yet: reported apart.
                if (i < changes.Count) firstOfKind.Add(ms);
                else (latencies.TryGetValue(kind, out var list) ? list : latencies[kind] = []).Add(ms);
                Thread.Sleep(20 + i % 7); // apart, so that every event is a reading of its own
                while (applied.Wait(0)) { }
            }
            Report(policies, pods, snapshot.LocalPods.Count, firstSync, latencies, firstOfKind, missed);
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            agent.WaitForExit(10_000);
        }
        return 0;
    }

    /// <summary>Kinds of change, each given the round number so that it alternates between two states.</summary>
    private static IEnumerable<(string Kind, Action<FakeApiServer, int> Change)> Changes(ClusterSnapshot snapshot)
    {
        var local = snapshot.LocalPods[0];
        var localPod = snapshot.Pods.First(p => p.Namespace == local.Namespace && p.Name == local.Name);
        // The local pod's policy also allows port "http" of pods labelled app{p+1} in its namespace:
        // a remote pod of that namespace that takes on this label joins the peer (and its address
        // the allowed set).
        var policy = snapshot.Policies.First(p => p.Metadata.NamespaceProperty == local.Namespace && p.Spec.PodSelector.MatchLabels["app"] == localPod.Labels["app"]);
        string peerApp = policy.Spec.Egress[1].To[0].PodSelector.MatchLabels["app"];
        var remote = snapshot.Pods.Skip(snapshot.LocalPods.Count).First(p => p.Namespace == local.Namespace && p.Ports.Count > 0);
        var peer = remote with { Labels = new Dictionary<string, string> { ["app"] = peerApp } };
        var ns = snapshot.Namespaces[1];
        string policyJson = k8s.KubernetesJson.Serialize(policy);

        yield return ("policy CIDR changed", (api, round) =>
        {
            var changed = k8s.KubernetesJson.Deserialize<V1NetworkPolicy>(policyJson);
            changed.Spec.Egress[0].To[0].IpBlock.Cidr = round % 2 == 0 ? "198.18.0.0/24" : "198.18.1.0/24";
            api.Upsert("networkpolicies", changed);
        });
        yield return ("remote pod label change (joins / leaves a peer selector)", (api, round) =>
            api.Upsert("pods", SyntheticObjects.Pod(round % 2 == 0 ? peer : remote)));
        yield return ("remote pod created / deleted", (api, round) =>
        {
            var created = SyntheticObjects.Pod(peer with { Name = "created", Addresses = [System.Net.IPAddress.Parse("10.254.0.1")] }); // joins the peer
            if (round % 2 == 0) api.Upsert("pods", created);
            else api.Delete("pods", created);
        });
        yield return ("local pod label change (moves class)", (api, round) =>
            api.Upsert("pods", SyntheticObjects.Pod(localPod with { Labels = new Dictionary<string, string> { ["app"] = round % 2 == 0 ? "app-none" : localPod.Labels["app"] } })));
        yield return ("namespace label change", (api, round) =>
            api.Upsert("namespaces", SyntheticObjects.Namespace(ns with { Labels = new Dictionary<string, string> { ["team"] = round % 2 == 0 ? "other" : ns.Labels["team"] } })));
    }

    private static void Report(int policies, int pods, int localPods, double firstSync, Dictionary<string, List<double>> latencies, List<double> firstOfKind, int missed)
    {
        Console.WriteLine($"# egress-agent event-to-enforced latency through the fake API server ({policies:N0} policies, {pods:N0} pods, {localPods} local pods; first sync {firstSync:0.0} s)");
        Console.WriteLine();
        Console.WriteLine("| change (watch event) | events | p50 | p90 | p99 | max |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (kind, list) in latencies.Append(new("all", latencies.Values.SelectMany(l => l).ToList())))
            Console.WriteLine($"| {kind} | {list.Count} | {F(PluginLatencyBenchmark.Percentile(list, 50))} | {F(PluginLatencyBenchmark.Percentile(list, 90))} | {F(PluginLatencyBenchmark.Percentile(list, 99))} | {F(list.Max())} |");
        Console.WriteLine();
        Console.WriteLine($"first change of each kind after the first sync (cold paths, not in the table): {string.Join(", ", firstOfKind.Select(F))}");
        if (missed > 0) Console.WriteLine($"events without an applied change within 5 s: {missed}");
        var all = latencies.Values.SelectMany(l => l).ToList();
        Console.WriteLine($"p99 event-to-enforced: {F(PluginLatencyBenchmark.Percentile(all, 99))} (target <= 100 ms)");
        Console.WriteLine();
        Console.WriteLine("The agent's own histograms (cumulative counts per bucket, seconds): the sync alone, and from the change's arrival in the agent:");
        string metrics = AgentMetricsPage.Read(StatusAddress);
        foreach (string line in metrics.Split('\n').Where(l => l.StartsWith("egress_agent_apply_seconds_bucket", StringComparison.Ordinal) || l.StartsWith("egress_agent_event_to_enforced_seconds_bucket", StringComparison.Ordinal)))
            Console.WriteLine("    " + line);
    }

    private static string F(double ms) => ms.ToString("0.0", CultureInfo.InvariantCulture) + " ms";
}
