using System.Diagnostics;
using CniEgress.Netlink.Route;

namespace CniEgress.Benchmarks;

/// <summary>How long the kernel itself takes to delete a veth whose peer is in another netns,
/// timed around one netlink request: the floor under any plugin's DEL. Also the time until the
/// kernel announces the removal (<see cref="LinkRemoval"/>, how the agent deletes a link for DEL),
/// when the link is gone but the request has one RCU grace period still to wait.</summary>
public static class KernelVethDelete
{
    public static List<double> Measure(int runs) => Measure(runs, (host, index, _) => host.DeleteLink(index));

    public static List<double> MeasureUntilRemoved(int runs) =>
        Measure(runs, (_, _, name) => LinkRemoval.Delete(name, TimeSpan.FromSeconds(5)));

    private static List<double> Measure(int runs, Action<RouteNetlinkClient, int, string> delete)
    {
        var times = new List<double>();
        using var host = RouteNetlinkClient.Open();
        for (int i = 0; i < runs; i++)
        {
            string pod = $"kvd{i}";
            PluginLatencyBenchmark.Ok("ip", "netns", "add", pod);
            using (var ns = CniEgress.Netns.NetworkNamespace.Open("/run/netns/" + pod))
            {
                string name = $"kvdhost{i}";
                int index = host.CreateVeth(name, "eth0", ns, 1500);
                host.SetLinkUp(index);
                var clock = Stopwatch.StartNew();
                delete(host, index, name);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            // The pause also outlasts a LinkRemoval's request, which ends ~20 ms after it returned.
            PluginLatencyBenchmark.Ok("ip", "netns", "del", pod);
            Thread.Sleep(PluginLatencyBenchmark.NetnsTeardown);
        }
        return times;
    }
}
