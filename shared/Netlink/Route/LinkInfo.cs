using System.Net.NetworkInformation;

namespace CniEgress.Netlink.Route;

/// <summary>A network interface as rtnetlink reports it. <paramref name="Kind"/> is the
/// IFLA_INFO_KIND ("veth", "bridge"…) or null for plain devices; <paramref name="PeerIndex"/>
/// is IFLA_LINK — for a veth, the peer's ifindex, counted in the peer's own namespace.</summary>
public sealed record LinkInfo(int Index, string Name, PhysicalAddress Mac, int Mtu, bool IsUp, string? Kind, int? PeerIndex);
