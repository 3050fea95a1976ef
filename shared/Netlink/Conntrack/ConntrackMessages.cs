using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using CniEgress.Netlink.Nftables;

namespace CniEgress.Netlink.Conntrack;

/// <summary>ctnetlink requests and replies (&lt;linux/netfilter/nfnetlink_conntrack.h&gt;); pure, no kernel.</summary>
internal static class ConntrackMessages
{
    private const byte NFNL_SUBSYS_CTNETLINK = 1;
    private const byte IPCTNL_MSG_CT_NEW = 0, IPCTNL_MSG_CT_GET = 1;
    private const ushort CTA_MARK = 8, CTA_MARK_MASK = 21;
    private const ushort CTA_TUPLE_ORIG = 1, CTA_TUPLE_IP = 1, CTA_TUPLE_PROTO = 2;
    private const ushort CTA_IP_V4_SRC = 1, CTA_IP_V4_DST = 2, CTA_IP_V6_SRC = 3, CTA_IP_V6_DST = 4;
    private const ushort CTA_PROTO_NUM = 1, CTA_PROTO_SRC_PORT = 2, CTA_PROTO_DST_PORT = 3;
    private const byte Tcp = 6, Udp = 17, Sctp = 132;

    private static ushort MessageType(byte command) => (ushort)((NFNL_SUBSYS_CTNETLINK << 8) | command);

    public static byte Family(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? (byte)10 : (byte)2;

    public static void Dump(NetlinkMessageWriter writer, uint sequence, AddressFamily family)
    {
        writer.BeginMessage(MessageType(IPCTNL_MSG_CT_GET), NetlinkMessageFlags.Request | NetlinkMessageFlags.Dump, sequence);
        writer.WriteHeader(new NfGenMessage { Family = Family(family) });
        writer.EndMessage();
    }

    /// <summary>Sets the bits of <paramref name="mask"/> in the connection's mark to those of
    /// <paramref name="mark"/>, leaving the others (an update of an existing entry, no create).</summary>
    public static void SetMark(NetlinkMessageWriter writer, uint sequence, ConntrackFlow flow, uint mark, uint mask)
    {
        writer.BeginMessage(MessageType(IPCTNL_MSG_CT_NEW), NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack, sequence);
        writer.WriteHeader(new NfGenMessage { Family = Family(flow.Source.AddressFamily) });
        WriteOriginalTuple(writer, flow);
        writer.WriteAttributeBigEndian(CTA_MARK, mark);
        writer.WriteAttributeBigEndian(CTA_MARK_MASK, mask);
        writer.EndMessage();
    }

    private static void WriteOriginalTuple(NetlinkMessageWriter writer, ConntrackFlow flow)
    {
        bool ipv6 = flow.Source.AddressFamily == AddressFamily.InterNetworkV6;
        writer.BeginNested(CTA_TUPLE_ORIG);
        writer.BeginNested(CTA_TUPLE_IP);
        writer.WriteAttribute(ipv6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, flow.Source);
        writer.WriteAttribute(ipv6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, flow.Destination);
        writer.EndNested();
        writer.BeginNested(CTA_TUPLE_PROTO);
        writer.WriteAttribute(CTA_PROTO_NUM, flow.Protocol);
        writer.WriteAttribute(CTA_PROTO_SRC_PORT, BigEndian(flow.SourcePort));
        writer.WriteAttribute(CTA_PROTO_DST_PORT, BigEndian(flow.DestinationPort));
        writer.EndNested();
        writer.EndNested();
    }

    /// <summary>The original tuple of a TCP, UDP or SCTP connection in a dump reply; false for others.</summary>
    public static bool TryParseFlow(in NetlinkMessage message, out ConntrackFlow flow)
    {
        flow = default;
        if (message.Type != MessageType(IPCTNL_MSG_CT_NEW) && message.Type != MessageType(IPCTNL_MSG_CT_GET)) return false; // dumps answer with NEW
        if (message.Payload.Length < NfGenMessage.Size) return false;
        if (!NetlinkAttributeReader.TryFind(message.Payload[NfGenMessage.Size..], CTA_TUPLE_ORIG, out var original)) return false;
        IPAddress? source = null, destination = null;
        byte protocol = 0;
        ushort sourcePort = 0, destinationPort = 0;
        foreach (var part in original.GetNested())
        {
            if (part.Type == CTA_TUPLE_IP)
            {
                foreach (var ip in part.GetNested())
                {
                    if (ip.Type is CTA_IP_V4_SRC or CTA_IP_V6_SRC) source = ip.GetIPAddress();
                    else if (ip.Type is CTA_IP_V4_DST or CTA_IP_V6_DST) destination = ip.GetIPAddress();
                }
            }
            else if (part.Type == CTA_TUPLE_PROTO)
            {
                foreach (var field in part.GetNested())
                {
                    if (field.Type == CTA_PROTO_NUM) protocol = field.GetByte();
                    else if (field.Type == CTA_PROTO_SRC_PORT) sourcePort = BinaryPrimitives.ReadUInt16BigEndian(field.Value);
                    else if (field.Type == CTA_PROTO_DST_PORT) destinationPort = BinaryPrimitives.ReadUInt16BigEndian(field.Value);
                }
            }
        }
        if (source == null || destination == null || protocol is not (Tcp or Udp or Sctp)) return false;
        flow = new ConntrackFlow(source, destination, protocol, sourcePort, destinationPort);
        return true;
    }

    private static byte[] BigEndian(ushort value) => [(byte)(value >> 8), (byte)value];
}
