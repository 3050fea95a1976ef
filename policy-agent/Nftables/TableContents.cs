using System.Net;
using System.Text;
using CniEgress.Net;
using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>What our table holds for a desired state, as kernel elements: per set, each logical
/// entry (a source pair, a pod's class, a destination range) under a canonical name with the
/// element(s) that encode it. Two of these diff into the exact element changes between them.</summary>
public sealed class TableContents
{
    private TableContents(HashSet<string> structure, Dictionary<string, Dictionary<string, NftElement[]>> sets)
    {
        Structure = structure;
        Sets = sets;
    }

    /// <summary>Chains, sets and maps with their rules' shape (port maps included): when this
    /// differs, rules change and only a full sync will do.</summary>
    public HashSet<string> Structure { get; }

    public Dictionary<string, Dictionary<string, NftElement[]>> Sets { get; }

    public static TableContents Of(DesiredDataplane desired)
    {
        var structure = new HashSet<string>(StringComparer.Ordinal);
        var sets = new Dictionary<string, Dictionary<string, NftElement[]>>(StringComparer.Ordinal)
        {
            ["pod-sources-v4"] = desired.PodSources.Where(s => !DataplaneVerdict.IsIPv6(s.Address))
                .ToDictionary(s => $"{s.HostInterface} . {s.Address}", s => new[] { new NftElement(Concat(Ifname(s.HostInterface), s.Address.GetAddressBytes())) }),
            ["pod-sources-v6"] = desired.PodSources.Where(s => DataplaneVerdict.IsIPv6(s.Address))
                .ToDictionary(s => $"{s.HostInterface} . {s.Address}", s => new[] { new NftElement(Concat(Ifname(s.HostInterface), s.Address.GetAddressBytes())) }),
            ["pod-class"] = desired.ClassOfInterface.ToDictionary(kv => $"{kv.Key} : {EgressRuleset.ChainOf(kv.Value)}",
                kv => new[] { new NftElement(Ifname(kv.Key), Verdict: NftVerdict.Goto(EgressRuleset.ChainOf(kv.Value))) }),
        };
        foreach (var egress in desired.Classes.Values)
        {
            string chain = EgressRuleset.ChainOf(egress.Id);
            var ports = PortGroups.Build(egress.Ports);
            structure.Add(chain);
            foreach (var e in ports.Entries) structure.Add($"{chain}-ports {e.Protocol} {e.FirstPort}-{e.LastPort} g{e.Group}");
            sets[chain + "-any-v4"] = Ranges(egress.AnyTraffic, ipv6: false);
            sets[chain + "-any-v6"] = Ranges(egress.AnyTraffic, ipv6: true);
            for (int g = 0; g < ports.Groups.Count; g++)
            {
                structure.Add($"{chain}-g{g}");
                sets[$"{chain}-g{g}-v4"] = Ranges(ports.Groups[g], ipv6: false);
                sets[$"{chain}-g{g}-v6"] = Ranges(ports.Groups[g], ipv6: true);
            }
        }
        return new TableContents(structure, sets);
    }

    /// <summary>The element changes from <paramref name="current"/> to <paramref name="next"/>,
    /// deletions first; null when the structure differs (a full sync is needed).</summary>
    public static List<NftElementChange>? Diff(TableContents current, TableContents next)
    {
        if (!current.Structure.SetEquals(next.Structure)) return null;
        var deletions = new List<NftElementChange>();
        var additions = new List<NftElementChange>();
        foreach (var (set, wanted) in next.Sets)
        {
            var had = current.Sets.GetValueOrDefault(set) ?? [];
            var removed = had.Where(kv => !wanted.ContainsKey(kv.Key)).SelectMany(kv => kv.Value).ToList();
            var added = wanted.Where(kv => !had.ContainsKey(kv.Key)).SelectMany(kv => kv.Value).ToList();
            if (removed.Count > 0) deletions.Add(new NftElementChange(false, set, removed));
            if (added.Count > 0) additions.Add(new NftElementChange(true, set, added));
        }
        return [.. deletions, .. additions];
    }

    /// <summary>rbtree interval sets: a range is its start and, unless it reaches the top of the
    /// address space, an interval-end element at last + 1.</summary>
    private static Dictionary<string, NftElement[]> Ranges(IEnumerable<AddressRange> ranges, bool ipv6) =>
        ranges.Where(r => r.IsIPv6 == ipv6).ToDictionary(r => r.ToString(), r =>
        {
            var start = new NftElement(Bytes(r.First, ipv6));
            UInt128 top = ipv6 ? UInt128.MaxValue : uint.MaxValue;
            return r.Last == top ? new[] { start } : [start, new NftElement(Bytes(r.Last + 1, ipv6), IntervalEnd: true)];
        });

    private static byte[] Bytes(UInt128 number, bool ipv6) => AddressMath.ToAddress(number, ipv6).GetAddressBytes();

    /// <summary>ifname keys are IFNAMSIZ (16) bytes, zero padded.</summary>
    private static byte[] Ifname(string name)
    {
        var key = new byte[16];
        Encoding.ASCII.GetBytes(name, key);
        return key;
    }

    private static byte[] Concat(byte[] first, byte[] second) => [.. first, .. second];
}
