using System.Diagnostics.CodeAnalysis;

namespace CniEgress.Netlink;

/// <summary>nlmsg_flags (&lt;linux/netlink.h&gt;). The 0x100–0x800 bits mean different things
/// for GET, NEW and DELETE requests and for acks, hence the aliases.</summary>
[Flags]
[SuppressMessage("Naming", "CA1711", Justification = "netlink names them nlmsg_flags")]
[SuppressMessage("Design", "CA1069", Justification = "the kernel reuses these bits per request kind (GET, NEW, ack)")]
public enum NetlinkMessageFlags : ushort
{
    None = 0,
    Request = 0x1,
    Multi = 0x2,
    Ack = 0x4,
    Echo = 0x8,
    DumpInterrupted = 0x10,

    // GET requests
    Root = 0x100,
    Match = 0x200,
    Dump = Root | Match,

    // NEW requests
    Replace = 0x100,
    Exclusive = 0x200,
    Create = 0x400,
    Append = 0x800,

    // acks (NLMSG_ERROR)
    Capped = 0x100,
    AckTlvs = 0x200,
}
