using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CsCheck;
using Xunit;

namespace CniEgress.Tests.Policy;

/// <summary>Over random sequences of cluster changes, the element changes an update sends take a
/// kernel that holds the previous state to exactly the next one, as strictly as nf_tables takes
/// them: deleting a missing element or adding a present key with other data is an error.</summary>
public class ElementDiffPropertyTests
{
    [Fact]
    public void Updates_move_the_sets_exactly_to_the_next_state() =>
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            var snapshot = RandomCluster.Snapshot(random);
            var warm = new PolicyCompilation();
            warm.Load(snapshot);
            var kernel = new FakeSets();
            var writer = new RecordingWriter(kernel);
            var nft = new RecordingExecutor();
            var dataplane = new NftDataplane(nft, writer);
            var desired = warm.Build();
            dataplane.FullSync(desired);
            kernel.Load(AllElements(desired, dataplane.Slots!));
            for (int step = 0; step < 15; step++)
            {
                (snapshot, string change) = IncrementalCompilationPropertyTests.RandomChange(random, snapshot, RandomCluster.Snapshot(random), warm);
                desired = warm.Build();
                int fullSyncs = nft.Applied;
                if (!dataplane.Update(desired))
                {
                    Assert.True(nft.Applied > fullSyncs);
                    kernel.Load(AllElements(desired, dataplane.Slots!));
                    continue;
                }
                var expected = new FakeSets();
                expected.Load(AllElements(desired, dataplane.Slots!));
                if (!kernel.SameAs(expected))
                    throw new Xunit.Sdk.XunitException($"seed {seed} step {step} ({change}): kernel {kernel} expected {expected}");
                foreach (var pool in dataplane.Slots!.Both)
                {
                    var slots = pool.Placed.Values.ToList();
                    Assert.Equal(slots.Count, slots.Select(p => p.Slot).Distinct().Count());
                    Assert.Equal(slots.Sum(p => p.GroupSlots.Count), slots.SelectMany(p => p.GroupSlots).Distinct().Count());
                }
            }
        }, iter: 300);

    /// <summary>Every element a full sync writes for this state (its diff from an empty table).</summary>
    private static IEnumerable<(string Set, NftElement Element)> AllElements(DesiredDataplane desired, SlotPools slots) =>
        TableContents.Diff(TableContents.Empty, TableContents.Of(desired, slots)).SelectMany(change => change.Elements.Select(e => (change.Set, e)));

    private sealed class FakeSets
    {
        private readonly Dictionary<string, Dictionary<string, string>> sets = [];

        public void Load(IEnumerable<(string Set, NftElement Element)> elements)
        {
            sets.Clear();
            foreach (var (set, element) in elements) Add(set, element);
        }

        public void Add(string set, NftElement element)
        {
            if (!sets.TryGetValue(set, out var elements)) sets[set] = elements = [];
            string key = Key(element), data = element.Verdict?.ToString() ?? "";
            if (elements.TryGetValue(key, out string? present) && present != data)
                throw new Xunit.Sdk.XunitException($"EEXIST: {set} {key} holds {present}, add {data}");
            elements[key] = data;
        }

        public void Delete(string set, NftElement element)
        {
            if (!sets.TryGetValue(set, out var elements) || !elements.Remove(Key(element)))
                throw new Xunit.Sdk.XunitException($"ENOENT: {set} {Key(element)}");
        }

        public bool SameAs(FakeSets other) => ToString() == other.ToString();

        public override string ToString() => string.Join("; ", sets.Where(s => s.Value.Count > 0).OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => s.Key + "{" + string.Join(",", s.Value.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key + e.Value)) + "}"));

        private static string Key(NftElement e) =>
            Convert.ToHexString(e.Key) + (e.IntervalEnd ? "/end" : "") + (e.KeyEnd == null ? "" : "-" + Convert.ToHexString(e.KeyEnd));
    }

    private sealed class RecordingWriter(FakeSets kernel) : INftElementWriter
    {
        public void Apply(IReadOnlyList<NftElementChange> changes)
        {
            bool adding = false;
            foreach (var change in changes)
            {
                Assert.False(adding && !change.Add, "deletions come before additions");
                adding = change.Add;
                foreach (var element in change.Elements)
                {
                    if (change.Add) kernel.Add(change.Set, element);
                    else kernel.Delete(change.Set, element);
                }
            }
        }
    }

    private sealed class RecordingExecutor : INftExecutor
    {
        public int Applied { get; private set; }

        public void Apply(string transaction) => Applied++;

        public IReadOnlyList<NftRuleset.TableObject> ListObjects() => [];
    }
}
