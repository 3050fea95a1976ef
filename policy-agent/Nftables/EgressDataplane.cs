using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Puts a desired state into the kernel through an executor: a full sync deletes the
/// class objects the desired state no longer has, in the same transaction that rewrites the rest.</summary>
/// An update goes over nfnetlink as the exact element changes (cost O(change), whatever the
/// size of the ruleset) whenever the rules themselves stay the same; otherwise it is a full sync.
public sealed class EgressDataplane(INftExecutor executor, INftElementWriter? elements = null, EgressRuleset.Options? options = null)
{
    private TableContents? applied;

    public void FullSync(DesiredDataplane desired)
    {
        executor.Apply(EgressRuleset.FullSync(desired, executor.ListObjects(), options));
        applied = TableContents.Of(desired);
    }

    /// <summary>Moves the kernel to <paramref name="desired"/>; true when it took the incremental path.</summary>
    public bool Update(DesiredDataplane desired)
    {
        var next = TableContents.Of(desired);
        var changes = applied == null || elements == null ? null : TableContents.Diff(applied, next);
        if (changes == null)
        {
            FullSync(desired);
            return false;
        }
        elements!.Apply(changes);
        applied = next;
        return true;
    }
}

/// <summary>Applies element changes to our table as one transaction (nfnetlink in production).</summary>
public interface INftElementWriter
{
    void Apply(IReadOnlyList<CniEgress.Netlink.Nftables.NftElementChange> changes);
}

/// <summary>Element changes over an nfnetlink socket opened in the node's namespace.</summary>
public sealed class NetlinkElementWriter(CniEgress.Netlink.Nftables.NftablesNetlinkClient client) : INftElementWriter
{
    public void Apply(IReadOnlyList<CniEgress.Netlink.Nftables.NftElementChange> changes) =>
        client.ApplyElementChanges(CniEgress.Netlink.Nftables.NftFamily.Inet, EgressRuleset.Table, changes);
}
