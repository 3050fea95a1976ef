using System.Diagnostics;
using System.Text;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

public class ConcurrencyTests
{
    [KernelFact]
    public void Hundred_concurrent_adds_get_distinct_addresses_and_dels_leave_nothing()
    {
        var network = new TestNetwork(ipv4: true, ipv6: true, prefix4: 22);
        var pods = Enumerable.Range(0, 100).Select(_ => new PodNamespace()).ToList();
        try
        {
            var ids = pods.Select(_ => "c" + Guid.NewGuid().ToString("N")).ToList();
            var results = new CniPluginProcess.Response[pods.Count];
            AllAtOnce(pods.Count, i => results[i] = network.Add(pods[i], ids[i]));
            Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
            var addresses = results.SelectMany(r => r.Json["ips"]!.AsArray().Select(ip => (string)ip!["address"]!)).ToList();
            Assert.Equal(200, addresses.Count);
            Assert.Equal(200, addresses.Distinct().Count());

            var dels = new CniPluginProcess.Response[pods.Count];
            AllAtOnce(pods.Count, i => dels[i] = network.Del(ids[i], pods[i].Path));
            Assert.All(dels, r => Assert.True(r.ExitCode == 0, r.ToString()));
            Assert.Empty(network.StateFiles());
            var hostNames = results.Select(r => (string)r.Json["interfaces"]![0]!["name"]!).ToHashSet();
            Assert.DoesNotContain(HostLinks.OurVeths(), hostNames.Contains);
        }
        finally
        {
            foreach (var pod in pods) pod.Dispose();
        }
    }

    /// <summary>One thread per call, released together: the thread pool would start them a few at a time.</summary>
    internal static void AllAtOnce(int count, Action<int> action)
    {
        using var start = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() => { start.Wait(); action(i); })).ToList();
        threads.ForEach(t => t.Start());
        start.Set();
        foreach (var thread in threads) Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "a plugin call did not return within 60 s");
    }

    /// <summary>Kill ADD at random instants across its whole run (calibrated by one full ADD), then GC
    /// with no valid attachment: no address, record or link of this network may survive.</summary>
    [KernelFact]
    public void Adds_killed_at_random_points_leave_nothing_after_gc()
    {
        var network = new TestNetwork(ipv4: true, ipv6: true, ipMasq: true);
        var random = new Random(42);
        var hostNames = new HashSet<string>();
        int completed = 0;
        int fullAddMicros = Calibrate(network);
        for (int i = 0; i < 50; i++)
        {
            using var pod = new PodNamespace();
            string id = "kill" + i + "x" + Guid.NewGuid().ToString("N")[..8];
            hostNames.Add(CniEgress.CniPlugin.Wiring.HostInterfaceName.For(id, "eth0"));
            if (StartAndKill(network, pod, id, TimeSpan.FromMicroseconds(random.Next(0, fullAddMicros)))) completed++;
        }
        var gc = network.Gc();
        Assert.True(gc.ExitCode == 0, gc.ToString());
        Assert.Empty(network.StateFiles());
        Assert.DoesNotContain(HostLinks.OurVeths(), hostNames.Contains);
        Assert.True(completed < 50, "every ADD finished before its kill: the test did not interrupt anything");
        string subnetPrefix = network.Subnet4[..(network.Subnet4.LastIndexOf('.') + 1)];
        Assert.DoesNotContain(subnetPrefix, Shell.Ok("nft", "list", "set", "inet", "cni-egress-nat", "masq-sources-v4"), StringComparison.Ordinal);
    }

    /// <summary>Wall time of one complete ADD (with process start), then its DEL.</summary>
    private static int Calibrate(TestNetwork network)
    {
        using var pod = new PodNamespace();
        var clock = Stopwatch.StartNew();
        var add = network.Add(pod, "calibrate");
        int micros = (int)clock.Elapsed.TotalMicroseconds;
        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.Equal(0, network.Del("calibrate", pod.Path).ExitCode);
        return Math.Max(micros * 12 / 10, 1000);
    }

    private static bool StartAndKill(TestNetwork network, PodNamespace pod, string id, TimeSpan delay)
    {
        var info = new ProcessStartInfo(CniPluginProcess.Binary) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.Environment["CNI_COMMAND"] = "ADD";
        info.Environment["CNI_CONTAINERID"] = id;
        info.Environment["CNI_NETNS"] = pod.Path;
        info.Environment["CNI_IFNAME"] = "eth0";
        info.Environment["CNI_PATH"] = CniPluginProcess.PluginDir;
        using var process = Process.Start(info)!;
        process.StandardInput.BaseStream.Write(Encoding.UTF8.GetBytes(network.Config));
        process.StandardInput.Close();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < delay) Thread.SpinWait(50);
        bool finished = process.HasExited;
        if (!finished) process.Kill();
        process.WaitForExit(10_000);
        return finished;
    }
}
