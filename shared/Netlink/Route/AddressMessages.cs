using System.Net;
using CniEgress.Net;
using static CniEgress.Netlink.Route.Rtnl;

namespace CniEgress.Netlink.Route;

/// <summary>Encodes address and neighbour requests and decodes RTM_NEWADDR replies; pure, no kernel.</summary>
internal static class AddressMessages
{
    private const NetlinkMessageFlags RequestAck = NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack;

    /// <summary>RTM_NEWADDR with IFA_LOCAL and IFA_ADDRESS both set to the address (a
    /// point-to-point peer would differ), plus the broadcast address for IPv4 subnets of /30
    /// and wider, as `ip addr add … brd +` would. IFA_F_NODAD skips IPv6 duplicate address
    /// detection, so the address is usable at once instead of "tentative" for ~1 s.</summary>
    public static void NewAddress(NetlinkMessageWriter writer, uint sequence, int index, InterfaceAddress address, bool noDad)
    {
        writer.BeginMessage(RTM_NEWADDR, RequestAck | NetlinkMessageFlags.Create | NetlinkMessageFlags.Exclusive, sequence);
        writer.WriteHeader(new IfAddrMessage
        {
            Family = FamilyOf(address.Address),
            PrefixLength = (byte)address.PrefixLength,
            Flags = address.IsIPv6 && noDad ? IFA_F_NODAD : (byte)0,
            Index = index,
        });
        writer.WriteAttribute(IFA_LOCAL, address.Address);
        writer.WriteAttribute(IFA_ADDRESS, address.Address);
        if (!address.IsIPv6 && address.PrefixLength < 31) writer.WriteAttribute(IFA_BROADCAST, Broadcast(address));
        writer.EndMessage();
    }

    /// <summary>Dumps both families; the index in the header lets a strict-checking kernel
    /// (4.20+) return only that link's addresses.</summary>
    public static void DumpAddresses(NetlinkMessageWriter writer, uint sequence, int index)
    {
        writer.BeginMessage(RTM_GETADDR, NetlinkMessageFlags.Request | NetlinkMessageFlags.Dump, sequence);
        writer.WriteHeader(new IfAddrMessage { Index = index });
        writer.EndMessage();
    }

    public static bool TryParseAddress(in NetlinkMessage message, out int index, out InterfaceAddress address)
    {
        index = 0;
        address = default;
        if (message.Type != RTM_NEWADDR) return false;
        var header = message.ReadHeader<IfAddrMessage>();
        IPAddress? local = null, peer = null;
        foreach (var attribute in message.Attributes(IfAddrMessage.Size))
        {
            if (attribute.Type == IFA_LOCAL) local = attribute.GetIPAddress();
            else if (attribute.Type == IFA_ADDRESS) peer = attribute.GetIPAddress();
        }
        // IFA_LOCAL is the interface's own address when present (IPv4); IPv6 sends only IFA_ADDRESS.
        IPAddress? own = local ?? peer;
        if (own is null) return false;
        index = header.Index;
        address = new InterfaceAddress(own, header.PrefixLength);
        return true;
    }

    /// <summary>RTM_NEWNEIGH, NUD_PERMANENT, created or replaced (NLM_F_CREATE|NLM_F_REPLACE).</summary>
    public static void NewPermanentNeighbour(NetlinkMessageWriter writer, uint sequence, int index, IPAddress address, ReadOnlySpan<byte> mac)
    {
        writer.BeginMessage(RTM_NEWNEIGH, RequestAck | NetlinkMessageFlags.Create | NetlinkMessageFlags.Replace, sequence);
        writer.WriteHeader(new NdMessage { Family = FamilyOf(address), Index = index, State = NUD_PERMANENT });
        writer.WriteAttribute(NDA_DST, address);
        writer.WriteAttribute(NDA_LLADDR, mac);
        writer.EndMessage();
    }

    public static byte FamilyOf(IPAddress address) => address.AddressFamily switch
    {
        System.Net.Sockets.AddressFamily.InterNetwork => AF_INET,
        System.Net.Sockets.AddressFamily.InterNetworkV6 => AF_INET6,
        _ => throw new ArgumentException($"{address} is neither IPv4 nor IPv6", nameof(address)),
    };

    private static IPAddress Broadcast(InterfaceAddress address)
    {
        byte[] bytes = address.Address.GetAddressBytes();
        for (int bit = address.PrefixLength; bit < 32; bit++)
            bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }
}
