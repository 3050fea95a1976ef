using System.Globalization;
using System.Text;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Renders a <see cref="DesiredDataplane"/> as one nft transaction (the `nft -f` text
/// format) for table inet cni-egress. Rules are fixed templates; what varies is set and map
/// contents plus one chain per class of pods that share the same policies. A new connection's
/// verdict costs: one interface-set lookup, one source lookup, the conntrack state, one verdict
/// map lookup, then at most four set lookups, whatever the number of policies, rules or CIDRs.</summary>
public static class EgressRuleset
{
    public const string Table = "cni-egress";
    public const string PodInterfacePattern = "ceg*";
    public const int DefaultLogGroup = 100;

    public sealed record Options(bool Reject = false, int LogGroup = DefaultLogGroup, string LogRate = "10/second");

    /// <summary>The whole table in one transaction: the table is never deleted (no moment without
    /// rules); its rules and elements are flushed and re-added, and <paramref name="staleClassChains"/>
    /// (class chains in the kernel that the desired state no longer has) are deleted.</summary>
    public static string FullSync(DesiredDataplane desired, IEnumerable<string> staleClassChains, Options? options = null)
    {
        options ??= new Options();
        var classChains = desired.Classes.Values.Select(c => ChainOf(c.Id)).ToList();
        var text = new StringBuilder();
        // 1. Declare every object (a no-op for those that exist), so the flushes below can name them.
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{\n");
        AppendStaticDeclarations(text);
        foreach (string chain in classChains) AppendClassDeclarations(text, chain);
        text.Append("}\n");
        // 2. Empty them: `flush table` removes rules only; sets and maps are flushed one by one.
        text.Append(CultureInfo.InvariantCulture, $"flush table inet {Table}\n");
        foreach (string set in StaticSets.Concat(classChains.SelectMany(ClassSets)))
            text.Append(CultureInfo.InvariantCulture, $"flush set inet {Table} {set}\n");
        text.Append(CultureInfo.InvariantCulture, $"flush map inet {Table} egress-class\n");
        // 3. Class chains nobody needs any more (no map element points at them after the flush).
        foreach (string chain in staleClassChains.Order(StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"delete chain inet {Table} {chain}\n");
            foreach (string set in ClassSets(chain)) text.Append(CultureInfo.InvariantCulture, $"delete set inet {Table} {set}\n");
        }
        // 4. Rules and elements as the desired state has them.
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{\n");
        AppendStaticRules(text);
        foreach (var egress in desired.Classes.Values) AppendClassRules(text, egress, options);
        text.Append("}\n");
        AppendElements(text, desired);
        return text.ToString();
    }

    public static string ChainOf(string classId) => "egress-" + classId;

    /// <summary>The sets that belong to a class chain.</summary>
    public static IEnumerable<string> ClassSets(string chain) =>
        [chain + "-any-v4", chain + "-any-v6", chain + "-ports-v4", chain + "-ports-v6"];

    private static readonly string[] StaticSets = ["pod-interfaces", "pod-sources-v4", "pod-sources-v6"];

    private static void AppendStaticDeclarations(StringBuilder text) => text.Append("""
          set pod-interfaces { type ifname; comment "every pod veth this agent knows"; }
          set pod-sources-v4 { type ifname . ipv4_addr; comment "the only source addresses each pod veth may use"; }
          set pod-sources-v6 { type ifname . ipv6_addr; }
          map egress-class { type ifname : verdict; comment "pods isolated for egress -> their class chain"; }
          chain prerouting { type filter hook prerouting priority dstnat + 10; policy accept; }
          chain from-pod { }

        """);

    private static void AppendStaticRules(StringBuilder text) => text.Append(CultureInfo.InvariantCulture, $$"""
          chain prerouting {
            iifname "{{PodInterfacePattern}}" jump from-pod
          }
          chain from-pod {
            iifname != @pod-interfaces counter drop comment "pod not known yet: fail closed"
            meta nfproto ipv4 iifname . ip saddr != @pod-sources-v4 counter drop comment "spoofed source"
            meta nfproto ipv6 ip6 saddr { ::, fe80::/10 } ip6 daddr { fe80::/10, ff02::/16 } accept comment "link-local: neighbour discovery, DAD, MLD"
            meta nfproto ipv6 iifname . ip6 saddr != @pod-sources-v6 counter drop comment "spoofed source"
            ct state established,related accept
            ct state invalid counter drop
            iifname vmap @egress-class
          }

        """);

    private static void AppendClassDeclarations(StringBuilder text, string chain) => text.Append(CultureInfo.InvariantCulture, $$"""
          set {{chain}}-any-v4 { type ipv4_addr; flags interval; }
          set {{chain}}-any-v6 { type ipv6_addr; flags interval; }
          set {{chain}}-ports-v4 { type ipv4_addr . inet_proto . inet_service; flags interval; }
          set {{chain}}-ports-v6 { type ipv6_addr . inet_proto . inet_service; flags interval; }
          chain {{chain}} { }

        """);

    private static void AppendClassRules(StringBuilder text, EgressClass egress, Options options)
    {
        string chain = ChainOf(egress.Id);
        text.Append(CultureInfo.InvariantCulture, $$"""
              chain {{chain}} {
                comment "{{Comment(egress.Policies)}}"
                ip daddr @{{chain}}-any-v4 accept
                ip6 daddr @{{chain}}-any-v6 accept
                ip daddr . meta l4proto . th dport @{{chain}}-ports-v4 accept
                ip6 daddr . meta l4proto . th dport @{{chain}}-ports-v6 accept
                limit rate {{options.LogRate}} log group {{options.LogGroup}} prefix "ceg-deny {{egress.Id}} "
                counter {{(options.Reject ? "reject with icmpx admin-prohibited" : "drop")}}
              }

            """);
    }

    private static void AppendElements(StringBuilder text, DesiredDataplane desired)
    {
        var interfaces = desired.PodSources.Select(s => s.HostInterface).Distinct().ToList();
        AddElements(text, "pod-interfaces", interfaces.Select(i => Quote(i)));
        AddElements(text, "pod-sources-v4", desired.PodSources.Where(s => !DataplaneVerdict.IsIPv6(s.Address)).Select(s => $"{Quote(s.HostInterface)} . {s.Address}"));
        AddElements(text, "pod-sources-v6", desired.PodSources.Where(s => DataplaneVerdict.IsIPv6(s.Address)).Select(s => $"{Quote(s.HostInterface)} . {s.Address}"));
        AddElements(text, "egress-class", desired.ClassOfInterface.Select(kv => $"{Quote(kv.Key)} : goto {ChainOf(kv.Value)}"));
        foreach (var egress in desired.Classes.Values)
        {
            string chain = ChainOf(egress.Id);
            AddElements(text, chain + "-any-v4", egress.AnyTraffic.Where(r => !r.IsIPv6).Select(r => r.ToString()));
            AddElements(text, chain + "-any-v6", egress.AnyTraffic.Where(r => r.IsIPv6).Select(r => r.ToString()));
            AddElements(text, chain + "-ports-v4", egress.Ports.Where(b => !b.Destination.IsIPv6).Select(Box));
            AddElements(text, chain + "-ports-v6", egress.Ports.Where(b => b.Destination.IsIPv6).Select(Box));
        }
    }

    /// <summary>nft caps comments at 128 bytes; a class of many policies names the first ones.</summary>
    private static string Comment(IReadOnlyList<string> policies)
    {
        string all = string.Join(", ", policies);
        if (all.Length <= 120) return all;
        string head = all[..100];
        int shown = head.Count(c => c == ',');
        return string.Create(CultureInfo.InvariantCulture, $"{head[..head.LastIndexOf(',')]} +{policies.Count - shown} more");
    }

    private static string Box(PortBox box) =>
        $"{box.Destination} . {Protocols.Name(box.Protocol)} . {Ports(box.FirstPort, box.LastPort)}";

    private static string Ports(ushort first, ushort last) =>
        first == last ? first.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{first}-{last}");

    private static string Quote(string name) => "\"" + name + "\"";

    /// <summary>Elements go in chunks: one huge line is slow for nft's parser.</summary>
    private static void AddElements(StringBuilder text, string set, IEnumerable<string> elements)
    {
        foreach (var chunk in elements.Chunk(2000))
            text.Append(CultureInfo.InvariantCulture, $"add element inet {Table} {set} {{ {string.Join(", ", chunk)} }}\n");
    }
}
