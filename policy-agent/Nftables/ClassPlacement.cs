using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Where one class lives in the table: a class slot (chain, destination sets, port map)
/// and one group slot per port group. An update compares placements by reference, so untouched
/// classes are never encoded again.</summary>
public sealed class ClassPlacement(string generation, EgressClass egress, int slot, IReadOnlyList<int> groupSlots, PortGroups.Layout ports)
{
    public string Generation { get; } = generation;
    public EgressClass Class { get; } = egress;
    public int Slot { get; } = slot;
    public IReadOnlyList<int> GroupSlots { get; } = groupSlots;
    public PortGroups.Layout Ports { get; } = ports;

    public string Chain => SlotNames.ClassChain(Generation, Slot);

    public string GroupChain(int group) => SlotNames.GroupChain(Generation, GroupSlots[group]);
}

/// <summary>Names of the pooled objects. Slots are created empty, with their rules, by a full
/// sync; a class then occupies one through element changes alone. Each full sync builds a new
/// generation ("a" or "b") beside the live one and switches pods over in one transaction.</summary>
public static class SlotNames
{
    public static readonly string[] Generations = ["a", "b"];

    public static string ClassChain(string generation, int slot) => $"{generation}-class-{slot:D4}";
    public static string GroupChain(string generation, int slot) => $"{generation}-group-{slot:D4}";

    public static string Other(string generation) => generation == "a" ? "b" : "a";
}
