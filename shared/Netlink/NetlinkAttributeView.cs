using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace CniEgress.Netlink;

/// <summary>One attribute (struct nlattr) of a received message, with typed accessors that
/// check the payload length instead of reading past it.</summary>
public readonly ref struct NetlinkAttributeView
{
    public NetlinkAttributeView(ushort rawType, ReadOnlySpan<byte> value)
    {
        RawType = rawType;
        Value = value;
    }

    /// <summary>The type with NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off.</summary>
    public ushort Type => (ushort)(RawType & 0x3fff);

    public ushort RawType { get; }

    public bool IsNested => (RawType & 0x8000) != 0;

    public ReadOnlySpan<byte> Value { get; }

    public byte GetByte() => Sized(1)[0];

    public ushort GetUInt16() => MemoryMarshal.Read<ushort>(Sized(2));

    public uint GetUInt32() => MemoryMarshal.Read<uint>(Sized(4));

    public int GetInt32() => unchecked((int)GetUInt32());

    public uint GetUInt32BigEndian() => BinaryPrimitives.ReadUInt32BigEndian(Sized(4));

    /// <summary>The string up to its NUL terminator (or the whole payload when there is none).</summary>
    public string GetString()
    {
        int end = Value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? Value : Value[..end]);
    }

    public IPAddress GetIPAddress() => Value.Length is 4 or 16
        ? new IPAddress(Value)
        : throw new NetlinkException("parse reply", Interop.Errno.EBADMSG, $"attribute {Type} holds {Value.Length} bytes, not an IP address");

    /// <summary>The attributes nested inside this one.</summary>
    public NetlinkAttributeReader GetNested() => new(Value);

    private ReadOnlySpan<byte> Sized(int size) => Value.Length >= size
        ? Value[..size]
        : throw new NetlinkException("parse reply", Interop.Errno.EBADMSG, $"attribute {Type} holds {Value.Length} bytes, expected {size}");
}
