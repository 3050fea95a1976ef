using System.Net;
using CniEgress.CniPlugin.Cni;
using CniEgress.Net;
using CniEgress.Netlink.Route;
using CniEgress.Netns;

namespace CniEgress.CniPlugin.Wiring;

/// <summary>The routed veth topology (no bridge). Pod: its /32 and /128, default routes via the
/// link-local gateways with permanent neighbour entries. Host: one /32 (/128) route per pod
/// address through the veth, plus a permanent neighbour entry, so no ARP/NDP and no DAD stands
/// between ADD returning and the pod's first packet.</summary>
public sealed class PodWiring(RouteNetlinkClient host, RouteNetlinkClient pod, NetworkNamespace podNamespace)
{
    public int Connect(PodAttachment attachment)
    {
        if (pod.FindLink(attachment.PodIfName) != null)
            throw new CniException(CniErrorCode.InterfaceExists, $"interface '{attachment.PodIfName}' already exists in {podNamespace.Path}");

        int hostIndex = host.CreateVeth(attachment.HostName, attachment.PodIfName, podNamespace, attachment.Mtu, LinkAddresses.HostMac, attachment.PodMac);
        ConfigureHostSide(hostIndex, attachment);
        ConfigurePodSide(attachment);
        return hostIndex;
    }

    private void ConfigureHostSide(int hostIndex, PodAttachment attachment)
    {
        bool ipv4 = attachment.Addresses.Any(a => !a.IsIPv6);
        bool ipv6 = attachment.Addresses.Any(a => a.IsIPv6);
        if (ipv4) HostSysctl.Write($"net/ipv4/conf/{attachment.HostName}/proxy_arp", "1");
        host.DisableIpv6AddressGeneration(hostIndex);
        host.SetLinkUp(hostIndex);
        if (ipv6)
        {
            host.AddAddress(hostIndex, InterfaceAddress.Host(LinkAddresses.GatewayV6), noDad: true);
            host.AddRouteBesideOthers(new RouteSpec(LinkAddresses.LinkLocalPrefix, hostIndex));
        }
        foreach (var address in attachment.Addresses)
        {
            host.AddPermanentNeighbour(hostIndex, address.Address, attachment.PodMac);
            host.ReplaceRoute(new RouteSpec(InterfaceAddress.Host(address.Address).Network, hostIndex, Scope: RouteScope.Link));
        }
        HostSysctl.EnsureForwarding(ipv4, ipv6);
    }

    private void ConfigurePodSide(PodAttachment attachment)
    {
        var link = pod.FindLink(attachment.PodIfName)
            ?? throw new CniException(CniErrorCode.KernelFailure, $"veth peer '{attachment.PodIfName}' did not appear in {podNamespace.Path}");
        foreach (var address in attachment.Addresses)
            pod.AddAddress(link.Index, address, noDad: true);
        pod.SetLinkUp(link.Index);
        foreach (var gateway in Gateways(attachment.Addresses))
        {
            pod.AddPermanentNeighbour(link.Index, gateway, LinkAddresses.HostMac);
            pod.ReplaceRoute(new RouteSpec(DefaultRoute(gateway), link.Index, gateway, OnLink: true));
        }
    }

    /// <summary>Deleting the host end removes the pair, the host routes and neighbours with it.
    /// Returns false when there was nothing to delete.</summary>
    public static bool Disconnect(RouteNetlinkClient host, string hostName) => host.DeleteLink(hostName);

    /// <summary>One gateway per address family. A loop, not Select + Distinct: a Select over
    /// Distinct's iterator is a generic virtual call, and the first one in a native-AOT process
    /// starts the runtime's type loader (~140 methods, their pages and metadata) for ADD alone.</summary>
    public static IReadOnlyList<IPAddress> Gateways(IReadOnlyList<InterfaceAddress> addresses)
    {
        var gateways = new List<IPAddress>(2);
        foreach (var address in addresses)
        {
            var gateway = LinkAddresses.GatewayFor(address.Address);
            if (!gateways.Contains(gateway)) gateways.Add(gateway);
        }
        return gateways;
    }

    public static IPNetwork DefaultRoute(IPAddress gateway) =>
        gateway.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? new IPNetwork(IPAddress.IPv6Any, 0) : new IPNetwork(IPAddress.Any, 0);
}
