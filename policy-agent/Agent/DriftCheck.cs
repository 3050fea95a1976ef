using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Nftables;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>Whether our table is still as we wrote it. Between full syncs its rules never change
/// (updates are set elements only), so after each full sync the rule count is taken, and a later
/// count that differs means someone flushed or edited the table: pods could be left without their
/// rules. Costs one rule dump (the static rules only, no set elements) per check.</summary>
public sealed class DriftCheck(NftablesNetlinkClient nftables)
{
    private int countedAtSync = -1;
    private int rules;

    /// <summary>Takes the rule count anew when a full sync happened since the last call.</summary>
    public void AfterSync(int fullSyncs)
    {
        if (fullSyncs == countedAtSync) return;
        countedAtSync = fullSyncs;
        rules = nftables.CountRules(NftFamily.Inet, NftRuleset.Table);
    }

    /// <summary>Null when the table is as written; else what is wrong with it.</summary>
    public string? Check()
    {
        if (!nftables.TableExists(NftFamily.Inet, NftRuleset.Table)) return "is gone (someone deleted it)";
        if (countedAtSync < 0) return null;
        int now = nftables.CountRules(NftFamily.Inet, NftRuleset.Table);
        return now == rules ? null : $"holds {now} rules where {rules} were written (someone flushed or edited it)";
    }
}
