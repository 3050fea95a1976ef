using System.Diagnostics;

namespace CniEgress.Benchmarks;

/// <summary>How long the kernel itself takes to delete a veth whose peer is in another netns,
/// timed around one netlink request: the floor under any plugin's DEL.</summary>
public static class KernelVethDelete
{
    public static List<double> Measure(int runs)
    {
        var times = new List<double>();
        using var host = CniEgress.Netlink.Route.RouteNetlinkClient.Open();
        for (int i = 0; i < runs; i++)
        {
            string pod = $"kvd{i}";
            PluginLatencyBenchmark.Ok("ip", "netns", "add", pod);
            using (var ns = CniEgress.Netns.NetworkNamespace.Open("/run/netns/" + pod))
            {
                int index = host.CreateVeth($"kvdhost{i}", "eth0", ns, 1500);
                host.SetLinkUp(index);
                var clock = Stopwatch.StartNew();
                host.DeleteLink(index);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            PluginLatencyBenchmark.Ok("ip", "netns", "del", pod);
            Thread.Sleep(PluginLatencyBenchmark.NetnsTeardown);
        }
        return times;
    }
}
