using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using PacketDotNet;

namespace CniEgress.PolicyAgent.Diagnostics;

/// <summary>One packet from libpcap's nflog device (link type NFLOG): the group, the input and
/// output interfaces (0 when the hook has none), the rule's prefix and the packet from its network header on.</summary>
public sealed record NflogRecord(int Group, int InputInterface, int OutputInterface, string Prefix, byte[] Payload)
{
    private const int IndevAttribute = 4, OutdevAttribute = 5, PayloadAttribute = 9, PrefixAttribute = 10;

    /// <summary>The pcap NFLOG record: a 4-byte header (family, version, group in network order),
    /// then TLVs whose length and type are in host order, each padded to 4 bytes. Null when cut short.</summary>
    public static NflogRecord? Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4) return null;
        int group = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        int indev = 0, outdev = 0;
        string prefix = "";
        byte[]? payload = null;
        int offset = 4;
        while (offset + 4 <= data.Length)
        {
            int length = BitConverter.ToUInt16(data[offset..]);
            int type = BitConverter.ToUInt16(data[(offset + 2)..]) & 0x7fff;
            if (length < 4 || offset + length > data.Length) break;
            var value = data[(offset + 4)..(offset + length)];
            switch (type)
            {
                case IndevAttribute when value.Length >= 4: indev = (int)BinaryPrimitives.ReadUInt32BigEndian(value); break;
                case OutdevAttribute when value.Length >= 4: outdev = (int)BinaryPrimitives.ReadUInt32BigEndian(value); break;
                case PayloadAttribute: payload = value.ToArray(); break;
                case PrefixAttribute: prefix = System.Text.Encoding.ASCII.GetString(value).TrimEnd('\0'); break;
            }
            offset += (length + 3) & ~3;
        }
        return payload == null ? null : new NflogRecord(group, indev, outdev, prefix, payload);
    }
}

/// <summary>A connection as a packet shows it: addresses, protocol and ports (decoded with PacketDotNet).</summary>
public sealed record FlowTuple(IPAddress Source, IPAddress Destination, byte Protocol, int SourcePort, int DestinationPort)
{
    public static FlowTuple? Of(byte[] ipPacket)
    {
        if (ipPacket.Length < 20) return null;
        if (!Whole(ipPacket)) return Truncated(ipPacket);
        try
        {
            var packet = Packet.ParsePacket(LinkLayers.Raw, ipPacket);
            if (packet.Extract<IPPacket>() is not { } ip) return null;
            byte protocol = (byte)ip.Protocol;
            var (sourcePort, destinationPort) = packet.Extract<TcpPacket>() is { } tcp ? (tcp.SourcePort, tcp.DestinationPort)
                : packet.Extract<UdpPacket>() is { } udp ? (udp.SourcePort, udp.DestinationPort)
                : Ports(protocol, ip.PayloadData);
            return new FlowTuple(ip.SourceAddress, ip.DestinationAddress, protocol, sourcePort, destinationPort);
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidOperationException)
        {
            return Truncated(ipPacket);
        }
    }

    /// <summary>Whether the IP header's length is the length we hold (PacketDotNet trusts the header).</summary>
    private static bool Whole(byte[] packet) => packet[0] >> 4 == 6
        ? packet.Length >= 40 && 40 + BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(4)) == packet.Length
        : BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)) == packet.Length;

    /// <summary>NFLOG may copy only the first bytes of a packet, and PacketDotNet wants whole
    /// transport headers: the addresses and the ports lie at fixed offsets anyway.</summary>
    private static FlowTuple? Truncated(byte[] packet)
    {
        bool ipv6 = packet[0] >> 4 == 6;
        if (ipv6 && packet.Length < 40) return null;
        var source = ipv6 ? new IPAddress(packet.AsSpan(8, 16)) : new IPAddress(packet.AsSpan(12, 4));
        var destination = ipv6 ? new IPAddress(packet.AsSpan(24, 16)) : new IPAddress(packet.AsSpan(16, 4));
        byte protocol = ipv6 ? packet[6] : packet[9];
        int transport = ipv6 ? 40 : (packet[0] & 0x0f) * 4;
        var (sourcePort, destinationPort) = Ports(protocol, packet.Length >= transport ? packet[transport..] : []);
        return new FlowTuple(source, destination, protocol, sourcePort, destinationPort);
    }

    /// <summary>The first two fields of a TCP, UDP or SCTP header.</summary>
    private static (int, int) Ports(byte protocol, byte[]? transport) =>
        protocol is Policy.Protocols.Tcp or Policy.Protocols.Udp or Policy.Protocols.Sctp && transport is { Length: >= 4 }
            ? (BinaryPrimitives.ReadUInt16BigEndian(transport), BinaryPrimitives.ReadUInt16BigEndian(transport.AsSpan(2)))
            : (0, 0);

    public bool HasPorts => Protocol is Policy.Protocols.Tcp or Policy.Protocols.Udp or Policy.Protocols.Sctp;

    /// <summary>"203.0.113.10:80/tcp", "[fd00::1]:53/udp", "192.0.2.1/icmp".</summary>
    public string DestinationText
    {
        get
        {
            string protocol = Protocol switch { 1 => "icmp", 58 => "icmpv6", _ => Policy.Protocols.Name(Protocol) };
            if (!HasPorts) return $"{Destination}/{protocol}";
            string host = Destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Destination}]" : Destination.ToString();
            return string.Create(CultureInfo.InvariantCulture, $"{host}:{DestinationPort}/{protocol}");
        }
    }
}
