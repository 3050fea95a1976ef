namespace CniEgress.Netlink;

/// <summary>The netlink families this layer speaks (the protocol argument of socket(2)).</summary>
public enum NetlinkProtocol
{
    /// <summary>NETLINK_ROUTE: links, addresses, routes, neighbours.</summary>
    Route = 0,

    /// <summary>NETLINK_NETFILTER: nfnetlink, which carries nf_tables.</summary>
    Netfilter = 12,
}
