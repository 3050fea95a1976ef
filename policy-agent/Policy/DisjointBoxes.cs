using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Rewrites (destination range × port range) boxes of one protocol so that no two
/// overlap: the kernel's concatenated interval sets (pipapo) refuse partly overlapping elements.
/// A sweep over destination boundaries: each elementary destination interval gets the merged
/// port ranges of the boxes covering it, and neighbours with equal port ranges are joined.
/// O(n log n) for n boxes when few boxes overlap at any point, as policies' CIDRs do.</summary>
public static class DisjointBoxes
{
    /// <summary>Sorted by protocol, family and destination, as the kernel's sets and
    /// <see cref="Nftables.PortGroups"/> read them.</summary>
    public static PortBox[] Normalize(IEnumerable<PortBox> boxes) => NormalizeInPlace([.. boxes]);

    /// <summary><see cref="Normalize"/> of a list the caller gives up: it is sorted in place.</summary>
    public static PortBox[] NormalizeInPlace(List<PortBox> boxes)
    {
        var all = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(boxes);
        all.Sort(static (a, b) =>
            a.Protocol != b.Protocol ? a.Protocol.CompareTo(b.Protocol)
            : a.Destination.IsIPv6 != b.Destination.IsIPv6 ? a.Destination.IsIPv6.CompareTo(b.Destination.IsIPv6)
            : a.Destination.First.CompareTo(b.Destination.First));
        var result = ScratchList<PortBox>.Rent(all.Length);
        var points = ScratchList<UInt128>.Rent(all.Length * 2);
        for (int start = 0, end; start < all.Length; start = end)
        {
            byte protocol = all[start].Protocol;
            bool ipv6 = all[start].Destination.IsIPv6;
            for (end = start + 1; end < all.Length && all[end].Protocol == protocol && all[end].Destination.IsIPv6 == ipv6; end++) { }
            NormalizeOne(protocol, ipv6, all[start..end], result, points);
        }
        PortBox[] normalized = [.. result];
        ScratchList<PortBox>.Return(result);
        ScratchList<UInt128>.Return(points);
        return normalized;
    }

    /// <param name="boxes">One protocol and family, sorted by the start of their destination.</param>
    private static void NormalizeOne(byte protocol, bool ipv6, ReadOnlySpan<PortBox> boxes, List<PortBox> result, List<UInt128> points)
    {
        // Boundaries: where a box starts, and just after it ends (none after the top address).
        points.Clear();
        foreach (var b in boxes)
        {
            points.Add(b.Destination.First);
            if (b.Destination.Last != UInt128.MaxValue) points.Add(b.Destination.Last + 1);
        }
        points.Sort();
        var active = new List<PortBox>();
        var ports = new List<(ushort First, ushort Last)>();
        var open = new List<(ushort First, ushort Last)>();
        bool isOpen = false;
        UInt128 openStart = 0, previous = 0;
        bool hasPrevious = false;
        int next = 0;
        foreach (UInt128 point in points)
        {
            if (hasPrevious && point == previous) continue;
            hasPrevious = true;
            previous = point;
            for (int i = active.Count - 1; i >= 0; i--)
                if (active[i].Destination.Last < point) { active[i] = active[^1]; active.RemoveAt(active.Count - 1); }
            while (next < boxes.Length && boxes[next].Destination.First == point) active.Add(boxes[next++]);
            MergePorts(active, ports);
            if (isOpen && !SameRanges(ports, open))
            {
                Emit(result, protocol, ipv6, openStart, point - 1, open);
                isOpen = false;
            }
            if (ports.Count > 0 && !isOpen)
            {
                open.Clear();
                open.AddRange(ports);
                isOpen = true;
                openStart = point;
            }
        }
        // Still open after the last boundary: only a box reaching the top address.
        if (isOpen) Emit(result, protocol, ipv6, openStart, UInt128.MaxValue >> (ipv6 ? 0 : 96), open);
    }

    private static void Emit(List<PortBox> result, byte protocol, bool ipv6, UInt128 first, UInt128 last, List<(ushort First, ushort Last)> ports)
    {
        foreach (var (from, to) in ports)
            result.Add(new PortBox(new AddressRange(ipv6, first, last), protocol, from, to));
    }

    private static void MergePorts(List<PortBox> active, List<(ushort First, ushort Last)> merged)
    {
        merged.Clear();
        foreach (var box in active) merged.Add((box.FirstPort, box.LastPort));
        if (merged.Count < 2) return;
        merged.Sort();
        int kept = 0;
        for (int i = 1; i < merged.Count; i++)
        {
            if (merged[i].First <= merged[kept].Last + 1)
            {
                if (merged[i].Last > merged[kept].Last) merged[kept] = (merged[kept].First, merged[i].Last);
            }
            else
            {
                merged[++kept] = merged[i];
            }
        }
        merged.RemoveRange(kept + 1, merged.Count - kept - 1);
    }

    private static bool SameRanges(List<(ushort, ushort)> a, List<(ushort, ushort)> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (a[i] != b[i]) return false;
        return true;
    }
}
