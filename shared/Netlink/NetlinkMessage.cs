using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CniEgress.Netlink;

/// <summary>One received netlink message: the nlmsghdr fields and a view of its payload (family
/// header + attributes). Valid only until the socket's next receive.</summary>
public readonly ref struct NetlinkMessage
{
    public NetlinkMessage(ushort type, NetlinkMessageFlags flags, uint sequence, uint portId, ReadOnlySpan<byte> payload)
    {
        Type = type;
        Flags = flags;
        Sequence = sequence;
        PortId = portId;
        Payload = payload;
    }

    public ushort Type { get; }

    public NetlinkMessageFlags Flags { get; }

    public uint Sequence { get; }

    public uint PortId { get; }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>Reads the fixed family header at the start of the payload.</summary>
    public T ReadHeader<T>() where T : unmanaged
    {
        if (Payload.Length < Unsafe.SizeOf<T>())
            throw new NetlinkException("parse reply", Interop.Errno.EBADMSG, $"message type {Type} is shorter than its {typeof(T).Name} header");
        return MemoryMarshal.Read<T>(Payload);
    }

    /// <summary>The attributes that follow a family header of <paramref name="headerSize"/> bytes.</summary>
    public NetlinkAttributeReader Attributes(int headerSize) =>
        new(Payload.Length <= headerSize ? default : Payload[NetlinkMessageWriter.Align(headerSize)..]);
}
