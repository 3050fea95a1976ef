using CniEgress.Net;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>The (destination × protocol × port) boxes of a class, turned around for the kernel:
/// a small verdict map from (protocol, port range) to a group, and per group one plain interval
/// set of destinations. A concatenated interval set over 100k CIDRs (pipapo) costs every new
/// connection a scan of bitmaps as long as the set; a 100k-element rbtree set costs a lookup of
/// log n, and the port map has as many elements as there are distinct port ranges.</summary>
public static class PortGroups
{
    public sealed record Layout(IReadOnlyList<IReadOnlyList<AddressRange>> Groups, IReadOnlyList<PortEntry> Entries);

    public readonly record struct PortEntry(byte Protocol, ushort FirstPort, ushort LastPort, int Group);

    public static Layout Build(IEnumerable<PortBox> boxes)
    {
        // Classes hold their boxes as an array sorted by protocol (DisjointBoxes): read in place.
        // Anything else is copied, and a stable sort keeps each protocol's destinations in order.
        var all = boxes as PortBox[] ?? [.. boxes];
        if (!IsSortedByProtocol(all)) all = [.. all.OrderBy(b => b.Protocol)];
        var groups = new List<IReadOnlyList<AddressRange>>();
        var groupByDestinations = new Dictionary<IReadOnlyList<AddressRange>, int>(SequenceComparer.Instance);
        var entries = new List<PortEntry>();
        var points = new List<int>();
        for (int start = 0, end; start < all.Length; start = end)
        {
            byte protocol = all[start].Protocol;
            for (end = start + 1; end < all.Length && all[end].Protocol == protocol; end++) { }
            var list = new ArraySegment<PortBox>(all, start, end - start);
            // Elementary port intervals: between consecutive boundaries, the same boxes apply.
            points.Clear();
            foreach (var b in list) { points.Add(b.FirstPort); points.Add(b.LastPort + 1); }
            points.Sort();
            PortEntry? open = null;
            for (int i = 0; i + 1 < points.Count; i++)
            {
                if (points[i] == points[i + 1]) continue;
                int first = points[i], last = points[i + 1] - 1;
                var addresses = AddressRange.MergeInPlace(Covering(list, first, last));
                int group = -1;
                if (addresses.Count > 0)
                {
                    if (!groupByDestinations.TryGetValue(addresses, out group))
                    {
                        group = groups.Count;
                        groups.Add(addresses);
                        groupByDestinations[addresses] = group;
                    }
                }
                if (open is { } o && o.Group == group && o.LastPort + 1 == first)
                {
                    open = o with { LastPort = (ushort)last };
                    continue;
                }
                if (open is { Group: >= 0 } done) entries.Add(done);
                open = new PortEntry(protocol, (ushort)first, (ushort)last, group);
            }
            if (open is { Group: >= 0 } final) entries.Add(final);
        }
        return new Layout(groups, entries);
    }

    /// <summary>The destinations of the boxes whose ports cover [first, last], counted first so the
    /// list is allocated once at its size.</summary>
    private static List<AddressRange> Covering(ArraySegment<PortBox> boxes, int first, int last)
    {
        int count = 0;
        foreach (var b in boxes) if (b.FirstPort <= first && last <= b.LastPort) count++;
        var destinations = new List<AddressRange>(count);
        foreach (var b in boxes) if (b.FirstPort <= first && last <= b.LastPort) destinations.Add(b.Destination);
        return destinations;
    }

    private static bool IsSortedByProtocol(PortBox[] boxes)
    {
        for (int i = 1; i < boxes.Length; i++)
            if (boxes[i - 1].Protocol > boxes[i].Protocol) return false;
        return true;
    }

    /// <summary>Destination lists compared by content, so port ranges with equal destinations share a group.</summary>
    private sealed class SequenceComparer : IEqualityComparer<IReadOnlyList<AddressRange>>
    {
        public static readonly SequenceComparer Instance = new();

        public bool Equals(IReadOnlyList<AddressRange>? x, IReadOnlyList<AddressRange>? y) =>
            ReferenceEquals(x, y) || (x != null && y != null && x.SequenceEqual(y));

        public int GetHashCode(IReadOnlyList<AddressRange> ranges)
        {
            var hash = new HashCode();
            hash.Add(ranges.Count);
            foreach (var range in ranges) hash.Add(range);
            return hash.ToHashCode();
        }
    }
}
