namespace CniEgress.Netlink.Route;

/// <summary>rtm_scope: how far a route's destination is (enum rt_scope_t).</summary>
public enum RouteScope : byte
{
    Universe = 0,
    Link = 253,
    Host = 254,
}
