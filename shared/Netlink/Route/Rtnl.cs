namespace CniEgress.Netlink.Route;

/// <summary>rtnetlink numbers from &lt;linux/rtnetlink.h&gt;, if_link.h, if_addr.h, neighbour.h
/// and veth.h, under their C names so they can be checked against the headers.</summary>
internal static class Rtnl
{
    public const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18;
    public const ushort RTM_NEWADDR = 20, RTM_GETADDR = 22;
    public const ushort RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;
    public const ushort RTM_NEWNEIGH = 28;

    public const byte AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10;

    public const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5;
    public const ushort IFLA_LINKINFO = 18, IFLA_AF_SPEC = 26, IFLA_NET_NS_FD = 28, IFLA_EXT_MASK = 29;
    public const ushort IFLA_NUM_TX_QUEUES = 31, IFLA_NUM_RX_QUEUES = 32;
    public const ushort IFLA_INET6_ADDR_GEN_MODE = 8;
    public const byte IN6_ADDR_GEN_MODE_NONE = 1;
    public const ushort IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
    public const ushort VETH_INFO_PEER = 1;
    public const uint IFF_UP = 0x1;
    public const uint RTEXT_FILTER_SKIP_STATS = 1 << 3;

    public const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_BROADCAST = 4;
    public const byte IFA_F_NODAD = 0x02;

    public const ushort RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PRIORITY = 6, RTA_TABLE = 15;
    public const byte RTPROT_UNSPEC = 0, RTPROT_BOOT = 3;
    public const byte RTN_UNSPEC = 0, RTN_UNICAST = 1;
    public const byte RT_SCOPE_NOWHERE = 255;
    public const uint RTNH_F_ONLINK = 4;
    public const uint RTM_F_CLONED = 0x200, RTM_F_FIB_MATCH = 0x2000;
    public const int RT_TABLE_MAIN = 254;

    public const ushort NDA_DST = 1, NDA_LLADDR = 2;
    public const ushort NUD_PERMANENT = 0x80;

    public const int IFNAMSIZ = 16;
}
