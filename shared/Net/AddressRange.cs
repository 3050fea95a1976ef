using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CniEgress.Net;

/// <summary>An inclusive range of IPv4 or IPv6 addresses as 128-bit numbers (IPv4 in the low 32
/// bits). CIDR blocks minus excepts, merged sets and nftables interval elements are all ranges.</summary>
public readonly record struct AddressRange(bool IsIPv6, UInt128 First, UInt128 Last) : IComparable<AddressRange>
{
    public static AddressRange All(bool ipv6) => new(ipv6, UInt128.Zero, ipv6 ? UInt128.MaxValue : uint.MaxValue);

    public static AddressRange Of(IPNetwork network)
    {
        var (first, last) = AddressMath.Bounds(network);
        return new AddressRange(network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6, first, last);
    }

    public static AddressRange Host(IPAddress address) =>
        new(address.AddressFamily == AddressFamily.InterNetworkV6, AddressMath.ToNumber(address), AddressMath.ToNumber(address));

    public bool Contains(IPAddress address) =>
        (address.AddressFamily == AddressFamily.InterNetworkV6) == IsIPv6 && AddressMath.ToNumber(address) is var n && n >= First && n <= Last;

    public bool Overlaps(AddressRange other) => other.IsIPv6 == IsIPv6 && other.First <= Last && First <= other.Last;

    public bool Covers(AddressRange other) => other.IsIPv6 == IsIPv6 && First <= other.First && other.Last <= Last;

    /// <summary>This range without the addresses of <paramref name="holes"/> (same family), in order.</summary>
    public IReadOnlyList<AddressRange> Subtract(IEnumerable<AddressRange> holes)
    {
        var self = this;
        var pieces = new List<AddressRange>();
        UInt128 cursor = First;
        bool done = false;
        foreach (var hole in Merge(holes.Where(h => h.Overlaps(self))))
        {
            if (hole.First > cursor) pieces.Add(this with { First = cursor, Last = hole.First - 1 });
            if (hole.Last >= Last) { done = true; break; }
            cursor = hole.Last + 1;
        }
        if (!done) pieces.Add(this with { First = cursor });
        return pieces;
    }

    /// <summary>Sorted, disjoint, with touching ranges joined. Merged in place in one list (input
    /// that is already in order, as merged ranges and class boxes are, is not sorted again).</summary>
    public static List<AddressRange> Merge(IEnumerable<AddressRange> ranges) => MergeInPlace(new List<AddressRange>(ranges));

    /// <summary><see cref="Merge"/> of a list the caller gives up: it is rewritten and returned.</summary>
    public static List<AddressRange> MergeInPlace(List<AddressRange> merged)
    {
        if (!IsSorted(merged)) merged.Sort();
        int kept = -1;
        for (int i = 0; i < merged.Count; i++)
        {
            var range = merged[i];
            if (kept >= 0 && merged[kept].IsIPv6 == range.IsIPv6
                && (merged[kept].Last == UInt128.MaxValue || range.First <= merged[kept].Last + 1))
            {
                if (range.Last > merged[kept].Last) merged[kept] = merged[kept] with { Last = range.Last };
            }
            else
            {
                merged[++kept] = range;
            }
        }
        merged.RemoveRange(kept + 1, merged.Count - kept - 1);
        return merged;
    }

    private static bool IsSorted(List<AddressRange> ranges)
    {
        for (int i = 1; i < ranges.Count; i++)
            if (ranges[i - 1].CompareTo(ranges[i]) > 0) return false;
        return true;
    }

    public int CompareTo(AddressRange other) =>
        IsIPv6 != other.IsIPv6 ? IsIPv6.CompareTo(other.IsIPv6)
        : First != other.First ? First.CompareTo(other.First)
        : Last.CompareTo(other.Last);

    public static bool operator <(AddressRange left, AddressRange right) => left.CompareTo(right) < 0;
    public static bool operator >(AddressRange left, AddressRange right) => left.CompareTo(right) > 0;
    public static bool operator <=(AddressRange left, AddressRange right) => left.CompareTo(right) <= 0;
    public static bool operator >=(AddressRange left, AddressRange right) => left.CompareTo(right) >= 0;

    /// <summary>nftables element syntax: "10.0.0.0/8" when the range is a CIDR block, else "a-b".</summary>
    public override string ToString()
    {
        var first = AddressMath.ToAddress(First, IsIPv6);
        if (First == Last) return first.ToString();
        int bits = IsIPv6 ? 128 : 32;
        UInt128 size = Last - First;
        if ((size & (size + 1)) == 0 && (First & size) == 0)
        {
            int hostBits = size == UInt128.MaxValue ? 128 : (int)UInt128.Log2(size + 1);
            return first + "/" + (bits - hostBits).ToString(CultureInfo.InvariantCulture);
        }
        return $"{first}-{AddressMath.ToAddress(Last, IsIPv6)}";
    }
}
