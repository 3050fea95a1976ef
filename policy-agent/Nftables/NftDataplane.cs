using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Puts a desired state into the kernel. A full sync (`nft -f`, one transaction) lays
/// out the pool of slots with their rules; after it, an update is the exact element changes over
/// nfnetlink (cost O(change), whatever the size of the ruleset), unless the pool has run out of
/// slots, which takes a full sync with a bigger pool.</summary>
public sealed class NftDataplane(INftExecutor executor, INftElementWriter? elements = null, NftRuleset.Options? options = null)
{
    private TableContents? applied;

    /// <summary>Where each class sits now (for counters, logs and the CLI).</summary>
    public SlotPools? Slots => applied?.Slots;

    /// <summary>Rewrites the whole table for <paramref name="desired"/> into a new generation of
    /// slots: the structure (nft), then one nfnetlink transaction that fills it and switches every
    /// pod over, then the old generation is deleted. Enforcement never weakens on the way: until
    /// the switch commits the old generation serves, after it the new one.</summary>
    public void FullSync(DesiredDataplane desired)
    {
        var existing = executor.ListObjects();
        var slots = SlotPools.Fresh(desired, NextGeneration(existing));
        var contents = TableContents.Of(desired, slots);
        if (elements == null)
        {
            executor.Apply(NftRuleset.FullSync(desired, slots, existing, options));
        }
        else
        {
            executor.Apply(NftRuleset.Structure(slots, options));
            elements.Apply([.. NftRuleset.SetsToRefill(slots).Select(NftElementChange.Flush), .. TableContents.Diff(TableContents.Empty, contents)]);
            if (NftRuleset.Cleanup(slots, existing) is { } cleanup) executor.Apply(cleanup);
        }
        applied = contents;
    }

    /// <summary>The generation that is not live: known after our own sync, else read from the
    /// table (a restart adopts it); "a" for an empty table.</summary>
    private string NextGeneration(IReadOnlyList<NftRuleset.TableObject> existing)
    {
        if (applied != null) return SlotNames.Other(applied.Slots.Generation);
        return existing.Any(o => o.Name.StartsWith("a-", StringComparison.Ordinal)) ? "b" : "a";
    }

    /// <summary>Moves the kernel to <paramref name="desired"/>; true when it took the incremental
    /// path, false when it needed a full sync (the pool ran out, or the kernel had drifted).</summary>
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
        try
        {
            if (changes.Count > 0) elements!.Apply(changes);
        }
        catch (CniEgress.Netlink.NetlinkException)
        {
            // The kernel does not hold what we last wrote (someone flushed or rewrote our table):
            // the transaction changed nothing, and a full sync puts everything right.
            FullSync(desired);
            return false;
        }
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
    public void Apply(IReadOnlyList<NftElementChange> changes) => client.ApplyElementChanges(NftFamily.Inet, NftRuleset.Table, changes);
}
