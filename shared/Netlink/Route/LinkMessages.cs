using System.Net.NetworkInformation;
using static CniEgress.Netlink.Route.Rtnl;

namespace CniEgress.Netlink.Route;

/// <summary>What one RTM_NEWLINK needs to create a veth pair across two namespaces.</summary>
internal readonly record struct VethRequest(string HostName, string PeerName, int PeerNamespaceFd, int Mtu, PhysicalAddress? HostMac, PhysicalAddress? PeerMac);

/// <summary>Encodes link requests and decodes RTM_NEWLINK replies; pure, no kernel.</summary>
internal static class LinkMessages
{
    private const NetlinkMessageFlags RequestAck = NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack;

    /// <summary>One request creates both ends: the host end in the socket's namespace and the
    /// peer, described by the ifinfomsg + attributes inside VETH_INFO_PEER, directly in the
    /// namespace given by IFLA_NET_NS_FD — no create-then-move, no window where the pod's
    /// interface sits in the host namespace under a name that may clash.</summary>
    public static void CreateVeth(NetlinkMessageWriter writer, uint sequence, in VethRequest veth)
    {
        writer.BeginMessage(RTM_NEWLINK, RequestAck | NetlinkMessageFlags.Create | NetlinkMessageFlags.Exclusive, sequence);
        writer.WriteHeader(new IfInfoMessage());
        WriteLinkAttributes(writer, veth.HostName, veth.Mtu, veth.HostMac);
        writer.BeginNested(IFLA_LINKINFO);
        writer.WriteAttribute(IFLA_INFO_KIND, "veth");
        writer.BeginNested(IFLA_INFO_DATA);
        writer.BeginNested(VETH_INFO_PEER);
        writer.WriteHeader(new IfInfoMessage());
        WriteLinkAttributes(writer, veth.PeerName, veth.Mtu, veth.PeerMac);
        writer.WriteAttribute(IFLA_NET_NS_FD, (uint)veth.PeerNamespaceFd);
        writer.EndNested();
        writer.EndNested();
        writer.EndNested();
        writer.EndMessage();
    }

    /// <summary>RTM_GETLINK for one link, by name (index 0) or by index (name null).</summary>
    public static void GetLink(NetlinkMessageWriter writer, uint sequence, int index, string? name)
    {
        writer.BeginMessage(RTM_GETLINK, RequestAck, sequence);
        writer.WriteHeader(new IfInfoMessage { Index = index });
        if (name is not null) writer.WriteAttribute(IFLA_IFNAME, name);
        writer.WriteAttribute(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        writer.EndMessage();
    }

    public static void DumpLinks(NetlinkMessageWriter writer, uint sequence)
    {
        writer.BeginMessage(RTM_GETLINK, NetlinkMessageFlags.Request | NetlinkMessageFlags.Dump, sequence);
        writer.WriteHeader(new IfInfoMessage());
        // Statistics are most of a link dump's bytes and nobody here reads them.
        writer.WriteAttribute(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        writer.EndMessage();
    }

    /// <summary>RTM_NEWLINK on an existing index changes only the flags named in ifi_change.</summary>
    public static void SetLinkUp(NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RTM_NEWLINK, RequestAck, sequence);
        writer.WriteHeader(new IfInfoMessage { Index = index, Flags = IFF_UP, Change = IFF_UP });
        writer.EndMessage();
    }

    /// <summary>RTM_NEWLINK with IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: none } }: the link
    /// gets no IPv6 link-local address of its own when it comes up. It must be sent before the link
    /// is up (the kernel generates the address on NETDEV_UP), and apart, as the kernel refuses
    /// IFLA_AF_SPEC while creating a link and applies it after the flags when setting one.</summary>
    public static void DisableIpv6AddressGeneration(NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RTM_NEWLINK, RequestAck, sequence);
        writer.WriteHeader(new IfInfoMessage { Index = index });
        writer.BeginNested(IFLA_AF_SPEC);
        writer.BeginNested(AF_INET6);
        writer.WriteAttribute(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
        writer.EndNested();
        writer.EndNested();
        writer.EndMessage();
    }

    public static void DeleteLink(NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RTM_DELLINK, RequestAck, sequence);
        writer.WriteHeader(new IfInfoMessage { Index = index });
        writer.EndMessage();
    }

    /// <summary>RTM_DELLINK by name (index 0, IFLA_IFNAME): one request, no lookup first.</summary>
    public static void DeleteLink(NetlinkMessageWriter writer, uint sequence, string name)
    {
        writer.BeginMessage(RTM_DELLINK, RequestAck, sequence);
        writer.WriteHeader(new IfInfoMessage());
        writer.WriteAttribute(IFLA_IFNAME, name);
        writer.EndMessage();
    }

    public static bool TryParseLink(in NetlinkMessage message, out LinkInfo link)
    {
        link = null!;
        if (message.Type != RTM_NEWLINK) return false;
        var header = message.ReadHeader<IfInfoMessage>();
        string? name = null, kind = null;
        var mac = PhysicalAddress.None;
        int mtu = 0;
        int? peer = null;
        foreach (var attribute in message.Attributes(IfInfoMessage.Size))
        {
            switch (attribute.Type)
            {
                case IFLA_IFNAME: name = attribute.GetString(); break;
                case IFLA_ADDRESS: mac = new PhysicalAddress(attribute.Value.ToArray()); break;
                case IFLA_MTU: mtu = attribute.GetInt32(); break;
                case IFLA_LINK: peer = attribute.GetInt32(); break;
                case IFLA_LINKINFO: kind = ReadKind(attribute.GetNested()); break;
            }
        }
        if (name is null) return false;
        link = new LinkInfo(header.Index, name, mac, mtu, (header.Flags & IFF_UP) != 0, kind, peer);
        return true;
    }

    public static void ValidateName(string name, string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, parameter);
        if (name.Length >= IFNAMSIZ || name.Contains('/') || name.Contains(' ') || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a valid interface name (at most {IFNAMSIZ - 1} characters, no '/' or space)", parameter);
    }

    private static void WriteLinkAttributes(NetlinkMessageWriter writer, string name, int mtu, PhysicalAddress? mac)
    {
        writer.WriteAttribute(IFLA_IFNAME, name);
        writer.WriteAttribute(IFLA_MTU, (uint)mtu);
        if (mac is not null) writer.WriteAttribute(IFLA_ADDRESS, mac.GetAddressBytes());
        // One queue each way, which is what a veth uses unless told otherwise. Left unsaid, the
        // kernel allocates a queue per CPU and then cuts the real count to one, and cutting TX
        // queues waits for an expedited RCU grace period, once per end (~0.1 ms each here).
        writer.WriteAttribute(IFLA_NUM_TX_QUEUES, 1u);
        writer.WriteAttribute(IFLA_NUM_RX_QUEUES, 1u);
    }

    private static string? ReadKind(NetlinkAttributeReader linkInfo)
    {
        foreach (var attribute in linkInfo)
            if (attribute.Type == IFLA_INFO_KIND) return attribute.GetString();
        return null;
    }
}
