using System.Net;
using System.Net.NetworkInformation;
using System.IO.Hashing;
using System.Text;

namespace CniEgress.CniPlugin.Wiring;

/// <summary>Layer-2/3 constants of the routed topology. Every host veth carries the same MAC and
/// answers for the same link-local gateways, so a pod's default route never depends on the node.</summary>
public static class LinkAddresses
{
    /// <summary>The pod's IPv4 next hop. Nothing owns it; the pod has a permanent neighbour entry
    /// for it (and the host veth answers ARP for it by proxy_arp, should the pod flush that entry).</summary>
    public static readonly IPAddress GatewayV4 = IPAddress.Parse("169.254.1.1");

    /// <summary>The pod's IPv6 next hop, owned by the host veth (added without DAD).</summary>
    public static readonly IPAddress GatewayV6 = IPAddress.Parse("fe80::1");

    public static PhysicalAddress HostMac { get; } = new([0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);

    /// <summary>Locally administered unicast MAC derived from the attachment, so the host can
    /// install the pod's neighbour entry without reading it back.</summary>
    public static PhysicalAddress PodMac(string containerId, string ifName)
    {
        Span<byte> hash = stackalloc byte[8];
        XxHash3.Hash(Encoding.UTF8.GetBytes($"mac/{containerId}/{ifName}"), hash);
        byte[] mac = hash[..6].ToArray();
        mac[0] = (byte)((mac[0] & 0xfc) | 0x02);
        return new PhysicalAddress(mac);
    }

    public static IPAddress GatewayFor(IPAddress podAddress) =>
        podAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? GatewayV6 : GatewayV4;

    public static string Format(PhysicalAddress mac) =>
        string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
}
