using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Rewrites (destination range × port range) boxes of one protocol so that no two
/// overlap: the kernel's concatenated interval sets (pipapo) refuse partly overlapping elements.
/// A sweep over destination boundaries: each elementary destination interval gets the merged
/// port ranges of the boxes covering it, and neighbours with equal port ranges are joined.</summary>
public static class DisjointBoxes
{
    public static IEnumerable<PortBox> Normalize(IEnumerable<PortBox> boxes)
    {
        foreach (var group in boxes.GroupBy(b => (b.Protocol, b.Destination.IsIPv6)).OrderBy(g => g.Key))
            foreach (var box in NormalizeOne(group.Key.Protocol, group.Key.IsIPv6, group.ToList()))
                yield return box;
    }

    private static List<PortBox> NormalizeOne(byte protocol, bool ipv6, List<PortBox> boxes)
    {
        // Events: a box starts at First and ends after Last (Last + 1, or never for the top address).
        var starts = boxes.OrderBy(b => b.Destination.First).ToList();
        var boundaries = new SortedSet<UInt128>();
        foreach (var b in boxes)
        {
            boundaries.Add(b.Destination.First);
            if (b.Destination.Last != UInt128.MaxValue) boundaries.Add(b.Destination.Last + 1);
        }
        var active = new List<PortBox>();
        int next = 0;
        var result = new List<PortBox>();
        var points = boundaries.ToList();
        List<(ushort First, ushort Last)>? previousPorts = null;
        UInt128 previousStart = 0;
        for (int i = 0; i < points.Count; i++)
        {
            UInt128 point = points[i];
            active.RemoveAll(b => b.Destination.Last < point);
            while (next < starts.Count && starts[next].Destination.First == point) active.Add(starts[next++]);
            var ports = MergePorts(active.Select(b => (b.FirstPort, b.LastPort)));
            UInt128 end = i + 1 < points.Count ? points[i + 1] - 1 : MaxOf(active, point);
            if (previousPorts != null && !ports.SequenceEqual(previousPorts))
            {
                Emit(result, protocol, ipv6, previousStart, point - 1, previousPorts);
                previousPorts = null;
            }
            if (ports.Count > 0 && previousPorts == null) { previousPorts = ports; previousStart = point; }
            if (i + 1 == points.Count && previousPorts != null) Emit(result, protocol, ipv6, previousStart, end, previousPorts);
        }
        return result;
    }

    private static UInt128 MaxOf(List<PortBox> active, UInt128 point) =>
        active.Count == 0 ? point : active.Max(b => b.Destination.Last);

    private static void Emit(List<PortBox> result, byte protocol, bool ipv6, UInt128 first, UInt128 last, List<(ushort First, ushort Last)> ports)
    {
        foreach (var (from, to) in ports)
            result.Add(new PortBox(new AddressRange(ipv6, first, last), protocol, from, to));
    }

    private static List<(ushort First, ushort Last)> MergePorts(IEnumerable<(ushort First, ushort Last)> ranges)
    {
        var merged = new List<(ushort First, ushort Last)>();
        foreach (var (first, last) in ranges.Order())
        {
            if (merged.Count > 0 && first <= merged[^1].Last + 1)
            {
                if (last > merged[^1].Last) merged[^1] = (merged[^1].First, last);
            }
            else
            {
                merged.Add((first, last));
            }
        }
        return merged;
    }
}
