using System.Collections.Immutable;
using System.Text;
using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>The per-pod sets of our table (pod-sources-v4/-v6, pod-class, pod-denials and their
/// ingress pair), held as the sorted lists they come from. Two of them diff by one walk over both
/// lists, with nothing hashed or allocated for an entry both hold: an ADD on a node of hundreds of
/// pods compares hundreds of entries and encodes the new pod's few.</summary>
public sealed class PodSets
{
    private readonly IReadOnlyCollection<PodSource> sources;
    private readonly IReadOnlyCollection<KeyValuePair<string, string>> egressClassOf;
    private readonly IReadOnlyCollection<KeyValuePair<string, string>> ingressClassOf;
    private readonly SlotPools slots;

    private PodSets(IReadOnlyCollection<PodSource> sources, IReadOnlyCollection<KeyValuePair<string, string>> egressClassOf,
        IReadOnlyCollection<KeyValuePair<string, string>> ingressClassOf, SlotPools slots)
    {
        this.sources = sources;
        this.egressClassOf = egressClassOf;
        this.ingressClassOf = ingressClassOf;
        this.slots = slots;
    }

    public static PodSets Of(DesiredDataplane desired, SlotPools slots) =>
        new(InOrder(desired.PodSources), InOrder(desired.ClassOfInterface), InOrder(desired.Ingress.ClassOfInterface), slots);

    /// <summary>The element changes from <paramref name="before"/> to <paramref name="after"/>, set by set.</summary>
    public static void Diff(PodSets before, PodSets after, List<NftElementChange> deletions, List<NftElementChange> additions)
    {
        var v4 = new SetChanges("pod-sources-v4");
        var v6 = new SetChanges("pod-sources-v6");
        Walk(before.sources, after.sources, PodSource.Order.Compare, (_, _) => true,
            (source, added) => (Policy.DataplaneVerdict.IsIPv6(source.Address) ? v6 : v4).Note(added,
                new NftElement([.. Ifname(source.HostInterface), .. source.Address.GetAddressBytes()])));
        var egressClass = new SetChanges("pod-class");
        var egressDenials = new SetChanges("pod-denials");
        ClassMap(before.egressClassOf, before.slots.Egress, after.egressClassOf, after.slots.Egress, egressClass, egressDenials);
        var ingressClass = new SetChanges("pod-ingress-class");
        var ingressDenials = new SetChanges("pod-ingress-denials");
        ClassMap(before.ingressClassOf, before.slots.Ingress, after.ingressClassOf, after.slots.Ingress, ingressClass, ingressDenials);
        foreach (var set in new[] { v4, v6, egressClass, egressDenials, ingressClass, ingressDenials })
            set.AddTo(deletions, additions);
    }

    /// <summary>A pod's class entry jumps to its class's chain: it changes when the pod moves to a
    /// class in another slot. A class keeps its slot from one update to the next
    /// (<see cref="SlotAllocator.Next"/>), so the same class is the same chain; a new class that
    /// inherited a gone one's slot may be too. Its denial counter is there while it has a class at all.</summary>
    private static void ClassMap(IReadOnlyCollection<KeyValuePair<string, string>> before, SlotAllocator beforePool,
        IReadOnlyCollection<KeyValuePair<string, string>> after, SlotAllocator afterPool, SetChanges classes, SetChanges denials)
    {
        Walk(before, after, (a, b) => string.CompareOrdinal(a.Key, b.Key),
            (was, now) => was.Value == now.Value || beforePool.Placed[was.Value].Chain == afterPool.Placed[now.Value].Chain,
            (entry, added) => classes.Note(added, new NftElement(Ifname(entry.Key), Verdict: NftVerdict.Goto((added ? afterPool : beforePool).Placed[entry.Value].Chain))));
        Walk(before, after, (a, b) => string.CompareOrdinal(a.Key, b.Key), (_, _) => true,
            (entry, added) => denials.Note(added, new NftElement(Ifname(entry.Key))));
    }

    /// <summary>One walk over two lists sorted by <paramref name="order"/>: <paramref name="changed"/>
    /// (entry, true) for what only <paramref name="after"/> holds, (entry, false) for what only
    /// <paramref name="before"/> holds, and both for an entry at the same place that is not <paramref name="same"/>.</summary>
    private static void Walk<T>(IEnumerable<T> before, IEnumerable<T> after, Comparison<T> order, Func<T, T, bool> same, Action<T, bool> changed)
    {
        using var was = before.GetEnumerator();
        using var now = after.GetEnumerator();
        bool hasWas = was.MoveNext(), hasNow = now.MoveNext();
        while (hasWas || hasNow)
        {
            int o = !hasWas ? 1 : !hasNow ? -1 : order(was.Current, now.Current);
            if (o == 0 && same(was.Current, now.Current))
            {
                hasWas = was.MoveNext();
                hasNow = now.MoveNext();
                continue;
            }
            if (o <= 0)
            {
                changed(was.Current, false);
                hasWas = was.MoveNext();
            }
            if (o >= 0)
            {
                changed(now.Current, true);
                hasNow = now.MoveNext();
            }
        }
    }

    /// <summary>The compiler hands over sorted, immutable collections; anything else is sorted here (duplicates dropped).</summary>
    private static IReadOnlyCollection<PodSource> InOrder(IReadOnlyList<PodSource> sources) =>
        sources is ImmutableSortedSet<PodSource> sorted && ReferenceEquals(sorted.KeyComparer, PodSource.Order)
            ? sorted
            : sources.Distinct().Order(PodSource.Order).ToList();

    private static IReadOnlyCollection<KeyValuePair<string, string>> InOrder(IReadOnlyDictionary<string, string> classOf) =>
        classOf is ImmutableSortedDictionary<string, string> sorted && ReferenceEquals(sorted.KeyComparer, StringComparer.Ordinal)
            ? sorted
            : classOf.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();

    /// <summary>ifname keys are IFNAMSIZ (16) bytes, zero padded.</summary>
    private static byte[] Ifname(string name)
    {
        var key = new byte[16];
        Encoding.ASCII.GetBytes(name, key);
        return key;
    }

    private sealed class SetChanges(string set)
    {
        private List<NftElement>? removed, added;

        public void Note(bool isAdded, NftElement element) => (isAdded ? added ??= [] : removed ??= []).Add(element);

        public void AddTo(List<NftElementChange> deletions, List<NftElementChange> additions)
        {
            if (removed != null) deletions.Add(new NftElementChange(false, set, removed));
            if (added != null) additions.Add(new NftElementChange(true, set, added));
        }
    }
}
