using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace CniEgress.Netlink;

/// <summary>Builds one or more netlink messages in a reusable buffer: the 16-byte nlmsghdr, a
/// family header (ifinfomsg, rtmsg, nfgenmsg…), then attributes, each padded to 4 bytes
/// (NLMSG_ALIGN / NLA_ALIGN). Integers are in host byte order, as netlink wants, except where
/// a Big-endian method says otherwise. Writing never touches the kernel, so the exact bytes of
/// every request are unit-testable.</summary>
public sealed class NetlinkMessageWriter
{
    public const int HeaderSize = 16;
    public const int AttributeHeaderSize = 4;
    private const ushort NestedFlag = 0x8000; // NLA_F_NESTED

    private readonly Stack<int> _nests = new();
    private byte[] _buffer;
    private int _length;
    private int _messageStart = -1;

    public NetlinkMessageWriter(int initialCapacity = 1024) =>
        _buffer = new byte[Math.Max(initialCapacity, 64)];

    /// <summary>Everything written so far (all completed messages).</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public int Length => _length;

    public static int Align(int length) => (length + 3) & ~3;

    public void Clear()
    {
        _length = 0;
        _messageStart = -1;
        _nests.Clear();
    }

    public void BeginMessage(ushort type, NetlinkMessageFlags flags, uint sequence)
    {
        if (_messageStart >= 0) throw new InvalidOperationException("the previous message was not ended");
        _messageStart = _length;
        Span<byte> header = Reserve(HeaderSize);
        // nlmsg_len is patched by EndMessage; nlmsg_pid 0 lets the kernel fill in our port.
        MemoryMarshal.Write(header[4..], in type);
        ushort rawFlags = (ushort)flags;
        MemoryMarshal.Write(header[6..], in rawFlags);
        MemoryMarshal.Write(header[8..], in sequence);
    }

    public void EndMessage()
    {
        if (_messageStart < 0) throw new InvalidOperationException("no message was begun");
        if (_nests.Count != 0) throw new InvalidOperationException("a nested attribute was not ended");
        uint length = (uint)(_length - _messageStart);
        MemoryMarshal.Write(_buffer.AsSpan(_messageStart), in length);
        _messageStart = -1;
    }

    /// <summary>Appends a fixed family header such as ifinfomsg, padded to 4 bytes.</summary>
    public void WriteHeader<T>(in T header) where T : unmanaged
    {
        RequireMessage();
        Span<byte> target = Reserve(Unsafe.SizeOf<T>());
        MemoryMarshal.Write(target, in header);
    }

    public void WriteAttribute(ushort type, ReadOnlySpan<byte> value)
    {
        RequireMessage();
        Span<byte> target = Reserve(AttributeHeaderSize + value.Length);
        WriteAttributeHeader(target, type, AttributeHeaderSize + value.Length);
        value.CopyTo(target[AttributeHeaderSize..]);
    }

    public void WriteAttribute(ushort type, byte value) => WriteAttribute(type, [value]);

    public void WriteAttribute(ushort type, ushort value) =>
        WriteAttribute(type, MemoryMarshal.AsBytes(new ReadOnlySpan<ushort>(in value)));

    public void WriteAttribute(ushort type, uint value) =>
        WriteAttribute(type, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in value)));

    public void WriteAttribute(ushort type, int value) => WriteAttribute(type, unchecked((uint)value));

    public void WriteAttributeBigEndian(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        WriteAttribute(type, bytes);
    }

    /// <summary>A NUL-terminated string attribute (what NLA_STRING and NLA_NUL_STRING both accept).</summary>
    public void WriteAttribute(ushort type, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        Span<byte> bytes = length < 256 ? stackalloc byte[length + 1] : new byte[length + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        bytes[length] = 0;
        WriteAttribute(type, bytes);
    }

    /// <summary>The address in network byte order: 4 bytes for IPv4, 16 for IPv6.</summary>
    public void WriteAttribute(ushort type, IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written)) throw new ArgumentException("unsupported address", nameof(address));
        WriteAttribute(type, bytes[..written]);
    }

    /// <summary>Opens a nested attribute (type | NLA_F_NESTED); close it with <see cref="EndNested"/>.</summary>
    public void BeginNested(ushort type)
    {
        RequireMessage();
        _nests.Push(_length);
        WriteAttributeHeader(Reserve(AttributeHeaderSize), (ushort)(type | NestedFlag), AttributeHeaderSize);
    }

    public void EndNested()
    {
        int start = _nests.Pop();
        ushort length = checked((ushort)(_length - start));
        MemoryMarshal.Write(_buffer.AsSpan(start), in length);
    }

    private static void WriteAttributeHeader(Span<byte> target, ushort type, int length)
    {
        // nla_len counts header + payload but not the trailing padding.
        ushort nlaLength = checked((ushort)length);
        MemoryMarshal.Write(target, in nlaLength);
        MemoryMarshal.Write(target[2..], in type);
    }

    private void RequireMessage()
    {
        if (_messageStart < 0) throw new InvalidOperationException("BeginMessage first");
    }

    /// <summary>Reserves <paramref name="size"/> bytes plus padding, zeroed (the buffer is reused).</summary>
    private Span<byte> Reserve(int size)
    {
        int padded = Align(size);
        if (_length + padded > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + padded));
        Span<byte> span = _buffer.AsSpan(_length, padded);
        span.Clear();
        _length += padded;
        return span[..size];
    }
}
