using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Puts a desired state into the kernel. A full sync (`nft -f`, one transaction) lays
/// out the pool of slots with their rules; after it, an update is the exact element changes over
/// nfnetlink (cost O(change), whatever the size of the ruleset), unless the pool has run out of
/// slots, which takes a full sync with a bigger pool.</summary>
public sealed class EgressDataplane(INftExecutor executor, INftElementWriter? elements = null, EgressRuleset.Options? options = null)
{
    private TableContents? applied;

    /// <summary>Where each class sits now (for counters, logs and the CLI).</summary>
    public SlotAllocator? Slots => applied?.Slots;

    public void FullSync(DesiredDataplane desired)
    {
        var slots = SlotAllocator.Fresh(desired);
        executor.Apply(EgressRuleset.FullSync(desired, slots, executor.ListObjects(), options));
        applied = TableContents.Of(desired, slots);
    }

    /// <summary>Moves the kernel to <paramref name="desired"/>; true when it took the incremental path.</summary>
    public bool Update(DesiredDataplane desired)
    {
        var slots = applied == null || elements == null ? null : applied.Slots.Next(desired);
        if (slots == null)
        {
            FullSync(desired);
            return false;
        }
        var next = TableContents.Of(desired, slots);
        var changes = TableContents.Diff(applied!, next);
        if (changes.Count > 0) elements!.Apply(changes);
        applied = next;
        return true;
    }
}

/// <summary>Applies element changes to our table as one transaction (nfnetlink in production).</summary>
public interface INftElementWriter
{
    void Apply(IReadOnlyList<NftElementChange> changes);
}

/// <summary>Element changes over an nfnetlink socket opened in the node's namespace.</summary>
public sealed class NetlinkElementWriter(NftablesNetlinkClient client) : INftElementWriter
{
    public void Apply(IReadOnlyList<NftElementChange> changes) => client.ApplyElementChanges(NftFamily.Inet, EgressRuleset.Table, changes);
}
