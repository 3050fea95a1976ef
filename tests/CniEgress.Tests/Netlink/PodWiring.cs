using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using CniEgress.Net;
using CniEgress.Netlink.Route;

namespace CniEgress.Tests.Netlink;

/// <summary>What a ptp-style CNI ADD does, through the code under test: a veth pair into the
/// pod namespace, /32 and /128 addresses on both ends, host routes both ways, the pod's
/// default routes via the host end, static neighbours. Addresses come from documentation
/// ranges (TEST-NET-2, 2001:db8::/32), a distinct block per use so parallel tests never clash.</summary>
internal sealed class PodWiring
{
    private static int s_block;

    public required string HostName { get; init; }
    public required int HostIndex { get; init; }
    public required int PodIndex { get; init; }
    public required IPAddress HostV4 { get; init; }
    public required IPAddress PodV4 { get; init; }
    public required IPAddress HostV6 { get; init; }
    public required IPAddress PodV6 { get; init; }
    public required PhysicalAddress HostMac { get; init; }
    public required PhysicalAddress PodMac { get; init; }

    /// <summary>Per-step times of the last <see cref="Wire"/>.</summary>
    public required IReadOnlyList<(string Step, TimeSpan Time)> Timings { get; init; }

    public static PodWiring Wire(RouteNetlinkClient host, RouteNetlinkClient pod, TestNamespace podNamespace, string hostName)
    {
        int block = Interlocked.Increment(ref s_block);
        if (block > 60) throw new InvalidOperationException("out of test address blocks");
        var hostV4 = IPAddress.Parse($"198.51.100.{block * 4 + 1}");
        var podV4 = IPAddress.Parse($"198.51.100.{block * 4 + 2}");
        var hostV6 = IPAddress.Parse($"2001:db8:22:{block:x}::1");
        var podV6 = IPAddress.Parse($"2001:db8:22:{block:x}::2");
        var hostMac = PhysicalAddress.Parse($"02-00-00-00-{block:X2}-01");
        var podMac = PhysicalAddress.Parse($"02-00-00-00-{block:X2}-02");
        var timings = new List<(string, TimeSpan)>();
        var clock = Stopwatch.StartNew();
        void Lap(string step)
        {
            timings.Add((step, clock.Elapsed));
            clock.Restart();
        }

        int hostIndex = host.CreateVeth(hostName, "eth0", podNamespace.Namespace, 1400, hostMac, podMac);
        Lap("CreateVeth");
        int podIndex = pod.FindLink("eth0")!.Index;
        Lap("FindLink(eth0) in pod");

        pod.AddAddress(podIndex, InterfaceAddress.Host(podV4), noDad: true);
        pod.AddAddress(podIndex, InterfaceAddress.Host(podV6), noDad: true);
        host.AddAddress(hostIndex, InterfaceAddress.Host(hostV4), noDad: true);
        host.AddAddress(hostIndex, InterfaceAddress.Host(hostV6), noDad: true);
        Lap("4 × AddAddress");
        pod.SetLinkUp(podIndex);
        host.SetLinkUp(hostIndex);
        Lap("2 × SetLinkUp");

        AddRoutes(host, pod, hostIndex, podIndex, hostV4, podV4, hostV6, podV6);
        Lap("6 × AddRoute");
        pod.AddPermanentNeighbour(podIndex, hostV4, hostMac);
        host.AddPermanentNeighbour(hostIndex, podV4, podMac);
        Lap("2 × AddPermanentNeighbour");

        return new PodWiring
        {
            HostName = hostName, HostIndex = hostIndex, PodIndex = podIndex,
            HostV4 = hostV4, PodV4 = podV4, HostV6 = hostV6, PodV6 = podV6,
            HostMac = hostMac, PodMac = podMac, Timings = timings,
        };
    }

    private static void AddRoutes(RouteNetlinkClient host, RouteNetlinkClient pod, int hostIndex, int podIndex,
        IPAddress hostV4, IPAddress podV4, IPAddress hostV6, IPAddress podV6)
    {
        pod.AddRoute(new RouteSpec(Host(hostV4), podIndex, Scope: RouteScope.Link));
        pod.AddRoute(new RouteSpec(new IPNetwork(IPAddress.Any, 0), podIndex, hostV4, OnLink: true));
        pod.AddRoute(new RouteSpec(Host(hostV6), podIndex));
        pod.AddRoute(new RouteSpec(new IPNetwork(IPAddress.IPv6Any, 0), podIndex, hostV6));
        host.AddRoute(new RouteSpec(Host(podV4), hostIndex, Scope: RouteScope.Link));
        host.AddRoute(new RouteSpec(Host(podV6), hostIndex));
    }

    public static IPNetwork Host(IPAddress address) => InterfaceAddress.Host(address).Network;
}
