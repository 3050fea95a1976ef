using CniEgress.Net;
using System.Net;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>Pure allocation: the next free address of a range set after the last one reserved,
/// wrapping round, as host-local does, so a released address is not handed out again at once.
/// It steps address by address but stops at the first free one, and at most (in use + gateways
/// + 1) steps are ever needed to find one, so even a /64 costs nothing.</summary>
public static class AddressAllocator
{
    public static IPAddress? Next(IpamRangeSet set, IReadOnlySet<IPAddress> inUse, IPAddress? lastReserved) =>
        Next(set, inUse.Contains, lastReserved, (UInt128)inUse.Count + (UInt128)set.Ranges.Count + 1);

    /// <summary>The same walk with a bounded number of candidates, each asked of
    /// <paramref name="isInUse"/>: when addresses are handed out in order, the one after the last
    /// reserved is almost always free, so this finds it without knowing every address in use.
    /// Null when none of the first <paramref name="maxCandidates"/> (at most the whole set) is free.</summary>
    public static IPAddress? Next(IpamRangeSet set, Func<IPAddress, bool> isInUse, IPAddress? lastReserved, UInt128 maxCandidates)
    {
        var ranges = set.Ranges;
        int rangeIndex = 0;
        UInt128 position = ranges[0].Start;
        if (lastReserved != null && set.Contains(lastReserved))
        {
            UInt128 last = AddressMath.ToNumber(lastReserved);
            rangeIndex = Enumerable.Range(0, ranges.Count).First(i => ranges[i].Contains(last));
            (rangeIndex, position) = Advance(ranges, rangeIndex, last);
        }

        UInt128 budget = maxCandidates;
        UInt128 total = ranges.Aggregate(UInt128.Zero, (sum, r) => sum + (r.End - r.Start + 1));
        if (total < budget) budget = total;
        for (UInt128 step = 0; step < budget; step++)
        {
            var range = ranges[rangeIndex];
            var candidate = AddressMath.ToAddress(position, range.IsIPv6);
            if (!candidate.Equals(range.Gateway) && !isInUse(candidate)) return candidate;
            (rangeIndex, position) = Advance(ranges, rangeIndex, position);
        }
        return null;
    }

    private static (int RangeIndex, UInt128 Position) Advance(IReadOnlyList<IpamRange> ranges, int rangeIndex, UInt128 position)
    {
        if (position < ranges[rangeIndex].End) return (rangeIndex, position + 1);
        int next = (rangeIndex + 1) % ranges.Count;
        return (next, ranges[next].Start);
    }
}
