using CniEgress.Net;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using Xunit;

namespace CniEgress.Tests.Policy;

public class SlotAllocatorTests
{
    private static PolicyClass Class(string id, params string[] cidrs) =>
        new(id, [id], [], cidrs.Select(c => new PortBox(AddressRange.Of(System.Net.IPNetwork.Parse(c)), Protocols.Tcp, 80, 80)).ToList());

    private static DesiredDataplane Desired(params PolicyClass[] classes) => new(
        [],
        classes.Select((c, i) => (c, i)).ToDictionary(x => $"ceg{x.i:x12}", x => x.c.Id),
        classes.ToDictionary(c => c.Id),
        []);

    [Fact]
    public void Unchanged_classes_keep_their_placement_and_new_ones_take_the_lowest_free_slot()
    {
        var a = Class("a", "192.0.2.0/24");
        var b = Class("b", "198.51.100.0/24");
        var first = SlotAllocator.Fresh(Desired(a, b));
        var next = first.Next(Desired(b, Class("c", "203.0.113.0/24")))!;
        Assert.Same(first.Placed["b"], next.Placed["b"]);
        Assert.Equal(first.Placed["a"].Slot, next.Placed["c"].Slot); // a's slot was freed first
        Assert.Equal(first.Placed["a"].GroupSlots, next.Placed["c"].GroupSlots);
    }

    [Fact]
    public void A_changed_class_keeps_its_slot_and_only_its_elements_change()
    {
        var a = Class("a", "192.0.2.0/24");
        var b = Class("b", "198.51.100.0/24");
        var before = SlotAllocator.Fresh(Desired(a, b));
        var widened = Class("a", "192.0.2.0/23");
        var after = before.Next(Desired(widened, b))!;
        Assert.Equal(before.Placed["a"].Slot, after.Placed["a"].Slot);
        var changes = TableContents.Diff(TableContents.Of(Desired(a, b), Pools(before)), TableContents.Of(Desired(widened, b), Pools(after)));
        string group = after.Placed["a"].GroupChain(0) + "-v4";
        Assert.Equal([(false, group), (true, group)], changes.Select(c => (c.Add, c.Set)));
        Assert.Equal(2, changes[0].Elements.Count); // the old range: start and end
    }

    [Fact]
    public void Identical_states_diff_to_nothing()
    {
        var desired = Desired(Class("a", "192.0.2.0/24"));
        var slots = SlotAllocator.Fresh(desired);
        Assert.Empty(TableContents.Diff(TableContents.Of(desired, Pools(slots)), TableContents.Of(desired, Pools(slots.Next(desired)!))));
    }

    [Fact]
    public void A_full_pool_asks_for_a_full_sync()
    {
        var one = SlotAllocator.Fresh(Desired(Class("a", "192.0.2.0/24")));
        Assert.Equal(16, one.ClassCapacity);
        var many = Enumerable.Range(0, 17).Select(i => Class($"x{i:D2}", $"10.{i}.0.0/16")).ToArray();
        Assert.Null(one.Next(Desired(many)));
        Assert.Equal(48, SlotAllocator.Fresh(Desired(many)).ClassCapacity);
    }

    [Fact]
    public void A_class_that_replaces_a_gone_one_for_the_same_pods_inherits_its_slots()
    {
        var a = Class("a", "192.0.2.0/24");
        var before = SlotAllocator.Fresh(Desired(Class("z", "10.0.0.0/8"), a));
        var joined = Class("a+b", "192.0.2.0/24", "198.51.100.0/24"); // a second policy joined the pods' set
        var desired = Desired(Class("z", "10.0.0.0/8"), joined);
        var after = before.Next(desired)!;
        Assert.Equal(before.Placed["a"].Slot, after.Placed["a+b"].Slot);
        var changes = TableContents.Diff(TableContents.Of(Desired(Class("z", "10.0.0.0/8"), a), Pools(before)), TableContents.Of(desired, Pools(after)));
        Assert.DoesNotContain(changes, c => !c.Add && c.Set.EndsWith("-v4", StringComparison.Ordinal)); // 192.0.2.0/24 stays
        Assert.Equal(2, changes.Where(c => c.Add && c.Set.EndsWith("-v4", StringComparison.Ordinal)).Sum(c => c.Elements.Count));
    }

    /// <summary>An egress pool with an empty ingress pool beside it.</summary>
    private static SlotPools Pools(SlotAllocator egress) =>
        new(egress, SlotAllocator.Fresh(new DesiredDataplane([], new Dictionary<string, string>(), new Dictionary<string, PolicyClass>(), []), egress.Generation, Direction.Ingress));
}
