using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Which pooled slots each class occupies. Rules never change after a full sync: a class
/// that appears takes free slots, one that goes frees them, and a changed class keeps its slot,
/// so every update is set and map elements only. When the pool runs out, the caller does a full
/// sync with a bigger pool (<see cref="Fresh"/>).</summary>
public sealed class SlotAllocator
{
    private readonly Dictionary<string, ClassPlacement> placed;
    private readonly SortedSet<int> freeClassSlots;
    private readonly SortedSet<int> freeGroupSlots;

    private Dictionary<int, ClassPlacement>? bySlot;

    private SlotAllocator(Direction direction, string generation, int classCapacity, int groupCapacity, Dictionary<string, ClassPlacement> placed, SortedSet<int> freeClassSlots, SortedSet<int> freeGroupSlots, IReadOnlyDictionary<string, string> classOf)
    {
        ClassOfInterface = classOf;
        Direction = direction;
        Generation = generation;
        ClassCapacity = classCapacity;
        GroupCapacity = groupCapacity;
        this.placed = placed;
        this.freeClassSlots = freeClassSlots;
        this.freeGroupSlots = freeGroupSlots;
    }

    /// <summary>Which side's classes this pool holds (each side has its own pool of slots).</summary>
    public Direction Direction { get; }

    /// <summary>Which generation of pooled objects ("a" or "b") the classes sit in.</summary>
    public string Generation { get; }

    public int ClassCapacity { get; }
    public int GroupCapacity { get; }

    /// <summary>By class id.</summary>
    public IReadOnlyDictionary<string, ClassPlacement> Placed => placed;

    /// <summary>By class slot.</summary>
    public IReadOnlyDictionary<int, ClassPlacement> BySlot => bySlot ??= placed.Values.ToDictionary(p => p.Slot);

    /// <summary>The pods' classes this placement was made for.</summary>
    public IReadOnlyDictionary<string, string> ClassOfInterface { get; }

    /// <summary>Every class of <paramref name="direction"/> placed from slot 0, with room for as many again.</summary>
    public static SlotAllocator Fresh(DesiredDataplane desired, string generation = "a", Direction direction = Direction.Egress)
    {
        var (classOf, classes) = Side(desired, direction);
        var layouts = classes.Values.AsParallel().AsOrdered().Select(c => (Class: c, Ports: PortGroups.Build(c.Ports))).ToList();
        int classCapacity = Capacity(layouts.Count), groupCapacity = Capacity(layouts.Sum(l => l.Ports.Groups.Count));
        var allocator = new SlotAllocator(direction, generation, classCapacity, groupCapacity, new(StringComparer.Ordinal),
            new SortedSet<int>(Enumerable.Range(0, classCapacity)), new SortedSet<int>(Enumerable.Range(0, groupCapacity)), classOf);
        foreach (var (egress, ports) in layouts)
            allocator.placed[egress.Id] = allocator.Place(egress, ports, null)!;
        return allocator;
    }

    /// <summary>The placement of <paramref name="desired"/> that moves as little as possible from
    /// this one; null when the pool is too small for it. A changed class keeps its slots; a new
    /// class whose pods all come from a class that is gone (a policy joined or left their set)
    /// inherits that class's slots, so only the difference between the two is written.</summary>
    public SlotAllocator? Next(DesiredDataplane desired)
    {
        var (classOf, classes) = Side(desired, Direction);
        var next = new SlotAllocator(Direction, Generation, ClassCapacity, GroupCapacity, new(StringComparer.Ordinal), new(freeClassSlots), new(freeGroupSlots), classOf);
        var heirs = Heirs(classOf, classes);
        var inherited = heirs.Values.ToHashSet(StringComparer.Ordinal);
        // Free first (classes gone, port groups a changed class no longer has), then place.
        foreach (var (id, old) in placed)
        {
            if (classes.ContainsKey(id) || inherited.Contains(id)) continue;
            next.freeClassSlots.Add(old.Slot);
            next.freeGroupSlots.UnionWith(old.GroupSlots);
        }
        var pending = new List<(PolicyClass Class, PortGroups.Layout Ports, ClassPlacement? Old)>();
        foreach (var (id, egress) in classes)
        {
            var old = placed.GetValueOrDefault(id);
            if (old != null && ReferenceEquals(old.Class, egress))
            {
                next.placed[id] = old;
                continue;
            }
            if (old == null && heirs.TryGetValue(id, out string? predecessor)) old = placed[predecessor];
            var ports = PortGroups.Build(egress.Ports);
            if (old != null) next.freeGroupSlots.UnionWith(old.GroupSlots.Skip(ports.Groups.Count));
            pending.Add((egress, ports, old));
        }
        foreach (var (egress, ports, old) in pending)
        {
            var placement = next.Place(egress, ports, old);
            if (placement == null) return null;
            next.placed[egress.Id] = placement;
        }
        return next;
    }

    /// <summary>New class id -> the gone class id its first pod had, each gone class used once.</summary>
    private Dictionary<string, string> Heirs(IReadOnlyDictionary<string, string> classOf, IReadOnlyDictionary<string, PolicyClass> classes)
    {
        var heirs = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (hostInterface, id) in classOf)
        {
            if (placed.ContainsKey(id) || heirs.ContainsKey(id)) continue;
            if (!ClassOfInterface.TryGetValue(hostInterface, out string? before) || classes.ContainsKey(before) || !taken.Add(before)) continue;
            heirs[id] = before;
        }
        return heirs;
    }

    private ClassPlacement? Place(PolicyClass egress, PortGroups.Layout ports, ClassPlacement? old)
    {
        int slot = old?.Slot ?? Take(freeClassSlots);
        if (slot < 0) return null;
        var groups = (old?.GroupSlots ?? []).Take(ports.Groups.Count).ToList();
        while (groups.Count < ports.Groups.Count)
        {
            int group = Take(freeGroupSlots);
            if (group < 0) return null;
            groups.Add(group);
        }
        return new ClassPlacement(Direction, Generation, egress, slot, groups, ports);
    }

    private static (IReadOnlyDictionary<string, string> ClassOf, IReadOnlyDictionary<string, PolicyClass> Classes) Side(DesiredDataplane desired, Direction direction) =>
        direction == Direction.Egress ? (desired.ClassOfInterface, desired.Classes) : (desired.Ingress.ClassOfInterface, desired.Ingress.Classes);

    private static int Take(SortedSet<int> free)
    {
        if (free.Count == 0) return -1;
        int slot = free.Min;
        free.Remove(slot);
        return slot;
    }

    /// <summary>Twice what is needed, in steps of 16: growing the pool needs a full sync.</summary>
    private static int Capacity(int needed) => Math.Max(16, (needed * 2 + 15) / 16 * 16);
}
