using CniEgress.Net;
using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>What our table holds, as kernel elements: the per-pod sets (sources, class, denial
/// counters; <see cref="Nftables.PodSets"/>) and, per placed class, the elements of its slots.
/// Each logical entry (a source pair, a pod's class, a destination range, a port range) has one
/// identity and the element(s) that encode it, so two of these diff into the exact element
/// changes between them. Elements are
/// encoded only for entries a diff adds or removes: a changed class of a thousand ranges that
/// differs in one costs a thousand keys compared and one range encoded.</summary>
public sealed class TableContents
{
    private TableContents(PodSets podSets, SlotPools slots)
    {
        PodSets = podSets;
        Slots = slots;
    }

    /// <summary>pod-sources-v4/-v6, pod-class, pod-denials and their ingress pair: as many entries as local pods.</summary>
    public PodSets PodSets { get; }

    public SlotPools Slots { get; }

    /// <summary>A table with nothing in it: diffing against it gives every element.</summary>
    public static readonly TableContents Empty = Nothing();

    public static TableContents Of(DesiredDataplane desired, SlotPools slots) => new(PodSets.Of(desired, slots), slots);

    private static TableContents Nothing()
    {
        var nothing = new DesiredDataplane([], new Dictionary<string, string>(), new Dictionary<string, PolicyClass>(), []);
        return Of(nothing, SlotPools.Fresh(nothing));
    }

    /// <summary>What one set of a class is built from: equal sources give equal elements, so a diff
    /// passes over a set whose source did not change without building it (a pod joining one port
    /// group of a class of thousands of ranges builds that group's sets only). A set is either a
    /// range set (<see cref="Ranges"/>, compared as sorted lists) or the port map of
    /// <see cref="PortsOf"/>; a set name is the same kind in every placement.</summary>
    private sealed record SetSource(IReadOnlyList<AddressRange>? Ranges, bool IPv6, ClassPlacement? PortsOf)
    {
        public bool SameAs(SetSource other) => Ranges != null
            ? other.Ranges != null && IPv6 == other.IPv6 && Ranges.SequenceEqual(other.Ranges)
            : other.PortsOf is { } theirs && PortsOf is { } ours && ours.Generation == theirs.Generation
                && ours.GroupSlots.SequenceEqual(theirs.GroupSlots) && ours.Ports.Entries.SequenceEqual(theirs.Ports.Entries);
    }

    /// <summary>The sets of one placed class: its destination sets, its port map (each entry a
    /// jump to a group slot) and its group slots' destination sets.</summary>
    private static Dictionary<string, SetSource> SetsOf(ClassPlacement placement)
    {
        string chain = placement.Chain;
        var sets = new Dictionary<string, SetSource>(StringComparer.Ordinal)
        {
            [chain + "-any-v4"] = new(placement.Class.AnyTraffic, IPv6: false, null),
            [chain + "-any-v6"] = new(placement.Class.AnyTraffic, IPv6: true, null),
            [chain + "-ports"] = new(null, false, placement),
        };
        for (int g = 0; g < placement.GroupSlots.Count; g++)
        {
            string group = placement.GroupChain(g);
            sets[group + "-v4"] = new(placement.Ports.Groups[g], IPv6: false, null);
            sets[group + "-v6"] = new(placement.Ports.Groups[g], IPv6: true, null);
        }
        return sets;
    }

    private static Dictionary<EntryKey, Func<NftElement[]>> PortMap(ClassPlacement placement) => placement.Ports.Entries.ToDictionary(
        e => new EntryKey(((UInt128)e.Protocol << 32) | ((uint)e.FirstPort << 16) | e.LastPort, (UInt128)placement.GroupSlots[e.Group]),
        e => (Func<NftElement[]>)(() => [PortEntry(e, placement.GroupChain(e.Group))]));

    /// <summary>One slot's sets from what <paramref name="before"/> held to what <paramref name="after"/> holds.</summary>
    private static void CompareClasses(ClassPlacement? before, ClassPlacement? after, List<NftElementChange> deletions, List<NftElementChange> additions)
    {
        var had = before == null ? [] : SetsOf(before);
        var wanted = after == null ? [] : SetsOf(after);
        foreach (string set in had.Keys.Union(wanted.Keys))
        {
            var old = had.GetValueOrDefault(set);
            var now = wanted.GetValueOrDefault(set);
            if (old != null && now != null && old.SameAs(now)) continue;
            var kind = (old ?? now)!;
            if (kind.Ranges != null)
                CompareRanges(set, old?.Ranges ?? [], now?.Ranges ?? [], kind.IPv6, deletions, additions);
            else
                Compare(new() { [set] = old?.PortsOf is { } was ? PortMap(was) : [] }, new() { [set] = now?.PortsOf is { } next ? PortMap(next) : [] }, deletions, additions);
        }
    }

    /// <summary>A range set's changes by one walk over both sorted lists: no entry is keyed or
    /// encoded unless it is added or removed (a changed class of thousands of ranges that differs
    /// in a few allocates for those few).</summary>
    private static void CompareRanges(string set, IReadOnlyList<AddressRange> before, IReadOnlyList<AddressRange> after, bool ipv6,
        List<NftElementChange> deletions, List<NftElementChange> additions)
    {
        before = InOrder(before);
        after = InOrder(after);
        List<NftElement>? removed = null, added = null;
        int i = 0, j = 0;
        while (true)
        {
            while (i < before.Count && before[i].IsIPv6 != ipv6) i++;
            while (j < after.Count && after[j].IsIPv6 != ipv6) j++;
            if (i == before.Count && j == after.Count) break;
            int order = i == before.Count ? 1 : j == after.Count ? -1 : before[i].CompareTo(after[j]);
            if (order == 0) { i++; j++; }
            else if (order < 0) AddRange(removed ??= [], before[i++], ipv6);
            else AddRange(added ??= [], after[j++], ipv6);
        }
        if (removed != null) deletions.Add(new NftElementChange(false, set, removed));
        if (added != null) additions.Add(new NftElementChange(true, set, added));
    }

    /// <summary>Classes hold merged (sorted) ranges; anything else is sorted here rather than trusted.</summary>
    private static IReadOnlyList<AddressRange> InOrder(IReadOnlyList<AddressRange> ranges)
    {
        for (int k = 1; k < ranges.Count; k++)
            if (ranges[k - 1].CompareTo(ranges[k]) >= 0) return [.. ranges.Order().Distinct()];
        return ranges;
    }

    /// <summary>The element changes from <paramref name="current"/> to <paramref name="next"/>,
    /// deletions first. Classes whose placement is the same object in both are not looked at, so
    /// the cost follows what changed, not the size of the table.</summary>
    public static List<NftElementChange> Diff(TableContents current, TableContents next)
    {
        var deletions = new List<NftElementChange>();
        var additions = new List<NftElementChange>();
        PodSets.Diff(current.PodSets, next.PodSets, deletions, additions);
        ComparePools(current.Slots.Egress, next.Slots.Egress, deletions, additions);
        ComparePools(current.Slots.Ingress, next.Slots.Ingress, deletions, additions);
        return [.. deletions, .. additions];
    }

    /// <summary>By slot: a class that inherited a gone class's slot is compared with what that slot held.</summary>
    private static void ComparePools(SlotAllocator current, SlotAllocator next, List<NftElementChange> deletions, List<NftElementChange> additions)
    {
        foreach (var (slot, before) in current.BySlot)
        {
            var after = next.BySlot.GetValueOrDefault(slot);
            if (!ReferenceEquals(before, after)) CompareClasses(before, after, deletions, additions);
        }
        foreach (var (slot, after) in next.BySlot)
            if (!current.BySlot.ContainsKey(slot)) CompareClasses(null, after, deletions, additions);
    }

    private static void Compare(Dictionary<string, Dictionary<EntryKey, Func<NftElement[]>>> before, Dictionary<string, Dictionary<EntryKey, Func<NftElement[]>>> after,
        List<NftElementChange> deletions, List<NftElementChange> additions)
    {
        foreach (string set in before.Keys.Union(after.Keys))
        {
            var had = before.GetValueOrDefault(set) ?? [];
            var wanted = after.GetValueOrDefault(set) ?? [];
            var removed = had.Where(kv => !wanted.ContainsKey(kv.Key)).SelectMany(kv => kv.Value()).ToList();
            var added = wanted.Where(kv => !had.ContainsKey(kv.Key)).SelectMany(kv => kv.Value()).ToList();
            if (removed.Count > 0) deletions.Add(new NftElementChange(false, set, removed));
            if (added.Count > 0) additions.Add(new NftElementChange(true, set, added));
        }
    }

    /// <summary>rbtree interval sets: a range is its start and, unless it reaches the top of the
    /// address space, an interval-end element at last + 1.</summary>
    private static void AddRange(List<NftElement> elements, AddressRange range, bool ipv6)
    {
        elements.Add(new NftElement(Bytes(range.First, ipv6)));
        UInt128 top = ipv6 ? UInt128.MaxValue : uint.MaxValue;
        if (range.Last != top) elements.Add(new NftElement(Bytes(range.Last + 1, ipv6), IntervalEnd: true));
    }

    /// <summary>A (protocol . port range) interval in a concatenated map: each field padded to 4
    /// bytes, the range as a start key and an inclusive end key.</summary>
    private static NftElement PortEntry(PortGroups.PortEntry entry, string groupChain) => new(
        Key: [entry.Protocol, 0, 0, 0, (byte)(entry.FirstPort >> 8), (byte)entry.FirstPort, 0, 0],
        KeyEnd: [entry.Protocol, 0, 0, 0, (byte)(entry.LastPort >> 8), (byte)entry.LastPort, 0, 0],
        Verdict: NftVerdict.Jump(groupChain));

    private static byte[] Bytes(UInt128 number, bool ipv6) => AddressMath.ToAddress(number, ipv6).GetAddressBytes();
}

/// <summary>The identity of a port map's entry: its protocol and port range, and its group.</summary>
public readonly record struct EntryKey(UInt128 A, UInt128 B);
