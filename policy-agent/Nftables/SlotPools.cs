using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>The two pools of one generation: egress classes (classified by input interface) and
/// ingress classes (by output interface). They grow, and are rebuilt, together.</summary>
public sealed record SlotPools(SlotAllocator Egress, SlotAllocator Ingress)
{
    public string Generation => Egress.Generation;

    public IEnumerable<SlotAllocator> Both => [Egress, Ingress];

    /// <summary>Every placed class of both sides.</summary>
    public IEnumerable<ClassPlacement> Placed => Egress.Placed.Values.Concat(Ingress.Placed.Values);

    public static SlotPools Fresh(DesiredDataplane desired, string generation = "a") =>
        new(SlotAllocator.Fresh(desired, generation, Direction.Egress), SlotAllocator.Fresh(desired, generation, Direction.Ingress));

    /// <summary>Null when either pool is too small for <paramref name="desired"/>.</summary>
    public SlotPools? Next(DesiredDataplane desired) =>
        Egress.Next(desired) is { } egress && Ingress.Next(desired) is { } ingress ? new(egress, ingress) : null;
}
