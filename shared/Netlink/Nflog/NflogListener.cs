using System.Buffers.Binary;
using CniEgress.Netlink.Nftables;

namespace CniEgress.Netlink.Nflog;

/// <summary>A packet the ruleset sent to an NFLOG group: the rule's prefix, the interface it came
/// in on, and its first bytes from the network header on.</summary>
public sealed record NflogPacket(string Prefix, int InputInterfaceIndex, byte[] Payload, int OutputInterfaceIndex = 0);

/// <summary>Subscribes to one NFLOG group over nfnetlink (&lt;linux/netfilter/nfnetlink_log.h&gt;)
/// in the namespace its socket was opened in, and reads the packets logged to it.</summary>
public sealed class NflogListener : IDisposable
{
    private const byte NFNL_SUBSYS_ULOG = 4;
    private const byte NFULNL_MSG_PACKET = 0, NFULNL_MSG_CONFIG = 1;
    private const ushort NFULA_CFG_CMD = 1, NFULA_CFG_MODE = 2;
    private const byte NFULNL_CFG_CMD_BIND = 1, NFULNL_COPY_PACKET = 2;
    private const ushort NFULA_IFINDEX_INDEV = 4, NFULA_IFINDEX_OUTDEV = 5, NFULA_PAYLOAD = 9, NFULA_PREFIX = 10;

    private readonly NetlinkSocket _socket;

    private NflogListener(NetlinkSocket socket) => _socket = socket;

    /// <summary>Binds <paramref name="group"/>, copying the first <paramref name="copyBytes"/> of
    /// each packet. Only one listener may hold a group: a second bind fails with EBUSY.</summary>
    public static NflogListener Bind(ushort group, int copyBytes = 128)
    {
        var socket = NetlinkSocket.Open(NetlinkProtocol.Netfilter);
        try
        {
            var writer = new NetlinkMessageWriter();
            uint sequence = socket.NextSequence();
            writer.BeginMessage((ushort)((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG), NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack, sequence);
            writer.WriteHeader(new NfGenMessage { ResourceIdBigEndian = BinaryPrimitives.ReverseEndianness(group) });
            writer.WriteAttribute(NFULA_CFG_CMD, NFULNL_CFG_CMD_BIND);
            writer.EndMessage();
            socket.Execute($"bind NFLOG group {group}", writer.WrittenSpan, sequence);

            writer.Clear();
            sequence = socket.NextSequence();
            writer.BeginMessage((ushort)((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG), NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack, sequence);
            writer.WriteHeader(new NfGenMessage { ResourceIdBigEndian = BinaryPrimitives.ReverseEndianness(group) });
            Span<byte> mode = stackalloc byte[6];
            BinaryPrimitives.WriteUInt32BigEndian(mode, (uint)copyBytes);
            mode[4] = NFULNL_COPY_PACKET;
            writer.WriteAttribute(NFULA_CFG_MODE, mode);
            writer.EndMessage();
            socket.Execute($"set NFLOG group {group} to copy packets", writer.WrittenSpan, sequence);
            return new NflogListener(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Waits (bounded by the socket's receive timeout) for logged packets; false when none came.</summary>
    public bool TryReceive(Action<NflogPacket> onPacket) =>
        _socket.TryReceive("read NFLOG packets", (in NetlinkMessage message) =>
        {
            if (message.Type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) || message.Payload.Length < NfGenMessage.Size) return;
            string prefix = "";
            int input = 0, output = 0;
            byte[] payload = [];
            foreach (var attribute in new NetlinkAttributeReader(message.Payload[NfGenMessage.Size..]))
            {
                if (attribute.Type == NFULA_PREFIX) prefix = attribute.GetString();
                else if (attribute.Type == NFULA_IFINDEX_INDEV) input = (int)attribute.GetUInt32BigEndian();
                else if (attribute.Type == NFULA_IFINDEX_OUTDEV) output = (int)attribute.GetUInt32BigEndian();
                else if (attribute.Type == NFULA_PAYLOAD) payload = attribute.Value.ToArray();
            }
            onPacket(new NflogPacket(prefix, input, payload, output));
        });

    public void Dispose() => _socket.Dispose();
}
