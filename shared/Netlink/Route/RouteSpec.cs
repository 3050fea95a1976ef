using System.Net;

namespace CniEgress.Netlink.Route;

/// <summary>A unicast route. <paramref name="OutputInterface"/> 0 lets the kernel pick the
/// device from the gateway. <paramref name="OnLink"/> (RTNH_F_ONLINK) trusts the gateway to be
/// reachable on the device even without a covering subnet route — how a /32 pod address
/// reaches its host-side gateway. <paramref name="Protocol"/> (rtm_protocol) says who added the
/// route: 3 "boot", as `ip route add` does, or an owner's own number, so it can find its routes
/// again and leave everyone else's alone.</summary>
public sealed record RouteSpec(IPNetwork Destination, int OutputInterface, IPAddress? Gateway = null, RouteScope Scope = RouteScope.Universe, bool OnLink = false, int Table = 254, byte Protocol = 3);
