using System.Runtime.InteropServices;

namespace CniEgress.Netlink;

/// <summary>Walks a run of attributes (foreach-able, no allocation).</summary>
public ref struct NetlinkAttributeReader
{
    private ReadOnlySpan<byte> _remaining;

    public NetlinkAttributeReader(ReadOnlySpan<byte> attributes) => _remaining = attributes;

    public NetlinkAttributeView Current { get; private set; }

    public readonly NetlinkAttributeReader GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining.Length < NetlinkMessageWriter.AttributeHeaderSize) return false;
        ushort length = MemoryMarshal.Read<ushort>(_remaining);
        if (length < NetlinkMessageWriter.AttributeHeaderSize || length > _remaining.Length)
            throw new NetlinkException("parse reply", Interop.Errno.EBADMSG, $"attribute length {length} does not fit the {_remaining.Length} bytes left");
        Current = new NetlinkAttributeView(MemoryMarshal.Read<ushort>(_remaining[2..]), _remaining[NetlinkMessageWriter.AttributeHeaderSize..length]);
        int next = NetlinkMessageWriter.Align(length);
        _remaining = next >= _remaining.Length ? default : _remaining[next..];
        return true;
    }

    /// <summary>The first attribute of <paramref name="type"/>, like nla_find.</summary>
    public static bool TryFind(ReadOnlySpan<byte> attributes, ushort type, out NetlinkAttributeView attribute)
    {
        foreach (var candidate in new NetlinkAttributeReader(attributes))
        {
            if (candidate.Type == type)
            {
                attribute = candidate;
                return true;
            }
        }
        attribute = default;
        return false;
    }
}
