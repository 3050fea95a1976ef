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
        var groups = new List<IReadOnlyList<AddressRange>>();
        var groupByDestinations = new Dictionary<IReadOnlyList<AddressRange>, int>(SequenceComparer.Instance);
        var entries = new List<PortEntry>();
        foreach (var byProtocol in boxes.GroupBy(b => b.Protocol).OrderBy(g => g.Key))
        {
            var list = byProtocol.ToList();
            // Elementary port intervals: between consecutive boundaries, the same boxes apply.
            var boundaries = new SortedSet<int>();
            foreach (var b in list) { boundaries.Add(b.FirstPort); boundaries.Add(b.LastPort + 1); }
            var points = boundaries.ToList();
            PortEntry? open = null;
            for (int i = 0; i + 1 < points.Count; i++)
            {
                int first = points[i], last = points[i + 1] - 1;
                var addresses = AddressRange.Merge(list.Where(b => b.FirstPort <= first && last <= b.LastPort).Select(b => b.Destination));
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
                open = new PortEntry(byProtocol.Key, (ushort)first, (ushort)last, group);
            }
            if (open is { Group: >= 0 } final) entries.Add(final);
        }
        return new Layout(groups, entries);
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
