using System.Runtime.InteropServices;

namespace CniEgress.Netlink;

/// <summary>Walks the netlink messages packed in one received datagram (foreach-able, no
/// allocation). A length that does not fit the buffer is a protocol error, not a silent stop.</summary>
public ref struct NetlinkMessageReader
{
    private ReadOnlySpan<byte> _remaining;

    public NetlinkMessageReader(ReadOnlySpan<byte> datagram) => _remaining = datagram;

    public NetlinkMessage Current { get; private set; }

    public readonly NetlinkMessageReader GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining.Length < NetlinkMessageWriter.HeaderSize) return false;
        uint length = MemoryMarshal.Read<uint>(_remaining);
        if (length < NetlinkMessageWriter.HeaderSize || length > _remaining.Length)
            throw new NetlinkException("parse reply", Interop.Errno.EBADMSG, $"message length {length} does not fit the {_remaining.Length} bytes left");
        Current = new NetlinkMessage(
            MemoryMarshal.Read<ushort>(_remaining[4..]),
            (NetlinkMessageFlags)MemoryMarshal.Read<ushort>(_remaining[6..]),
            MemoryMarshal.Read<uint>(_remaining[8..]),
            MemoryMarshal.Read<uint>(_remaining[12..]),
            _remaining[NetlinkMessageWriter.HeaderSize..(int)length]);
        int next = NetlinkMessageWriter.Align((int)length);
        _remaining = next >= _remaining.Length ? default : _remaining[next..];
        return true;
    }
}
