using System.Diagnostics;
using System.Globalization;
using System.Text;
using CniEgress.PolicyAgent.Policy;
using CniEgress.State;
using k8s.Models;

namespace CniEgress.Benchmarks;

/// <summary>dist/egress-agent on a large cluster given as manifests (the synthetic cluster of the
/// policy benchmark): time from start to the first full sync in the kernel, and the agent's
/// resident memory once it holds the whole cluster.</summary>
public static class AgentMemoryBenchmark
{
    private const string StatusAddress = "127.0.0.1:9798";

    public static int Run(int policies, int pods)
    {
        var snapshot = PolicyApplyBenchmark.Synthetic(policies, pods, policies * 10);
        string root = Path.Combine("/run/cni-egress-bench", "agent");
        string manifests = Path.Combine(root, "manifests");
        Directory.CreateDirectory(manifests);
        WriteManifests(snapshot, manifests);
        WriteAttachments(snapshot, root);

        var info = new ProcessStartInfo(Repository.Dist("egress-agent")) { UseShellExecute = false, RedirectStandardError = true };
        foreach (string a in new[] { "run", "--manifests", manifests, "--node-name", "bench", "--state-dir", root, "--status-address", StatusAddress }) info.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var agent = Process.Start(info)!;
        var applied = new ManualResetEventSlim();
        agent.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("applied", StringComparison.Ordinal) == true) applied.Set(); };
        agent.BeginErrorReadLine();
        try
        {
            if (!applied.Wait(TimeSpan.FromMinutes(10))) throw new TimeoutException("the agent did not finish its first sync within 10 minutes");
            double seconds = clock.Elapsed.TotalSeconds;
            Thread.Sleep(2000); // settle
            var status = File.ReadAllLines($"/proc/{agent.Id}/status").ToDictionary(l => l.Split(':')[0], l => l.Split(':')[1].Trim());
            Console.WriteLine("# egress-agent holding a whole cluster (manifests source)");
            Console.WriteLine();
            Console.WriteLine("| policies | pods | CIDR entries | local pods | start to first full sync | RSS | of which anonymous | of which files (the binary) | peak RSS |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            Console.WriteLine($"| {policies:N0} | {pods:N0} | {policies * 10:N0} | {snapshot.LocalPods.Count} | {seconds:0.0} s | {status["VmRSS"]} | {status["RssAnon"]} | {status["RssFile"]} | {status["VmHWM"]} |");
            Console.WriteLine();
            string metrics = AgentMetricsPage.Read(StatusAddress);
            double Megabytes(string name) => double.Parse(metrics.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1], CultureInfo.InvariantCulture) / (1 << 20);
            Console.WriteLine($"Managed heap after the last collection: {Megabytes("egress_agent_gc_heap_bytes"):0} MB; committed by the GC: {Megabytes("egress_agent_gc_committed_bytes"):0} MB.");
            Console.WriteLine("Target (issue 4): RSS <= 150 MB with 50k pods / 5k policies.");
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            agent.WaitForExit(10_000);
        }
        return 0;
    }

    /// <summary>Attachment records for the snapshot's local pods, as CNI ADDs would have left them
    /// (no veths: the agent only needs the records to place the pods' classes).</summary>
    internal static void WriteAttachments(ClusterSnapshot snapshot, string stateDir)
    {
        var store = new AttachmentStore(stateDir);
        foreach (var local in snapshot.LocalPods)
            store.Write(new AttachmentRecord
            {
                ContainerId = local.HostInterface, IfName = "eth0", Network = "bench", HostInterface = local.HostInterface,
                PodNamespace = local.Namespace, PodName = local.Name, Addresses = local.Addresses.Select(a => a + "/32").ToList(),
                IpamType = "cni-egress", Complete = true, Created = DateTimeOffset.UtcNow,
            });
    }

    private static void WriteManifests(ClusterSnapshot snapshot, string folder)
    {
        var text = new StringBuilder();
        foreach (var ns in snapshot.Namespaces)
            Append(text, SyntheticObjects.Namespace(ns));
        File.WriteAllText(Path.Combine(folder, "namespaces.yaml"), text.ToString());
        foreach (var (chunk, index) in snapshot.Pods.Chunk(5000).Select((c, i) => (c, i)))
        {
            text.Clear();
            foreach (var pod in chunk)
                Append(text, SyntheticObjects.Pod(pod));
            File.WriteAllText(Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"pods-{index:D3}.yaml")), text.ToString());
        }
        text.Clear();
        foreach (var policy in snapshot.Policies) Append(text, SyntheticObjects.Policy(policy));
        File.WriteAllText(Path.Combine(folder, "policies.yaml"), text.ToString());
    }

    /// <summary>One document: JSON is YAML, and it is what the API server itself serves.</summary>
    private static void Append<T>(StringBuilder text, T item) => text.Append(k8s.KubernetesJson.Serialize(item)).Append("\n---\n");
}
