using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Where one class lives in the table: a class slot (chain, destination sets, port map)
/// and one group slot per port group. An update compares placements by reference, so untouched
/// classes are never encoded again.</summary>
public sealed class ClassPlacement(Direction direction, string generation, PolicyClass egress, int slot, IReadOnlyList<int> groupSlots, PortGroups.Layout ports)
{
    public Direction Direction { get; } = direction;
    public string Generation { get; } = generation;
    public PolicyClass Class { get; } = egress;
    public int Slot { get; } = slot;
    public IReadOnlyList<int> GroupSlots { get; } = groupSlots;
    public PortGroups.Layout Ports { get; } = ports;

    public string Chain => SlotNames.ClassChain(Direction, Generation, Slot);

    public string GroupChain(int group) => SlotNames.GroupChain(Direction, Generation, GroupSlots[group]);
}

/// <summary>Names of the pooled objects. Slots are created empty, with their rules, by a full
/// sync; a class then occupies one through element changes alone. Each full sync builds a new
/// generation ("a" or "b") beside the live one and switches pods over in one transaction. Ingress
/// slots are named "in-" after their generation ("a-in-class-0003").</summary>
public static class SlotNames
{
    public static readonly string[] Generations = ["a", "b"];

    public static string ClassChain(Direction direction, string generation, int slot) => $"{generation}-{Side(direction)}class-{slot:D4}";
    public static string GroupChain(Direction direction, string generation, int slot) => $"{generation}-{Side(direction)}group-{slot:D4}";

    private static string Side(Direction direction) => direction == Direction.Ingress ? "in-" : "";

    /// <summary>The side a class or group chain (as a log prefix names it) enforces.</summary>
    public static Direction DirectionOf(string chain) =>
        chain.Length > 2 && chain.AsSpan(2).StartsWith("in-", StringComparison.Ordinal) ? Direction.Ingress : Direction.Egress;

    public static string Other(string generation) => generation == "a" ? "b" : "a";
}
