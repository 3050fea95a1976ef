using System.Globalization;
using System.Text;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Renders a <see cref="DesiredDataplane"/> as one nft transaction (the `nft -f` text
/// format) for table inet cni-egress. Rules are fixed templates; what varies is set and map
/// contents plus, per class of pods sharing the same policies, one chain and one small chain per
/// port group. A new connection's verdict costs a constant number of lookups whatever the number
/// of policies, rules, pods or CIDRs: interface, source, conntrack, class map, then one interval
/// set, one small port map and one more interval set.</summary>
public static class EgressRuleset
{
    public const string Table = "cni-egress";
    public const string PodInterfacePattern = "ceg*";
    public const int DefaultLogGroup = 100;
    public const string ClassPrefix = "egress-";

    public sealed record Options(bool Reject = false, int LogGroup = DefaultLogGroup, string LogRate = "10/second");

    /// <summary>An object of our table as the kernel lists it: kind "chain", "set" or "map".</summary>
    public readonly record struct TableObject(string Kind, string Name);

    private static readonly string[] StaticSets = ["pod-sources-v4", "pod-sources-v6"];

    /// <summary>The whole table in one transaction: the table is never deleted (no moment without
    /// rules); its rules and elements are flushed and re-added, and the class objects in
    /// <paramref name="existing"/> that the desired state no longer has are deleted.</summary>
    public static string FullSync(DesiredDataplane desired, IEnumerable<TableObject> existing, Options? options = null)
    {
        options ??= new Options();
        var classes = desired.Classes.Values.Select(c => new ClassLayout(c)).ToList();
        var wanted = classes.SelectMany(c => c.Objects()).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var text = new StringBuilder();
        // 1. Declare every object (a no-op for those that exist), so the flushes below can name them.
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{\n");
        AppendStaticDeclarations(text);
        foreach (var layout in classes) layout.AppendDeclarations(text);
        text.Append("}\n");
        // 2. Empty them: `flush table` removes rules only; sets and maps are flushed one by one.
        text.Append(CultureInfo.InvariantCulture, $"flush table inet {Table}\n");
        foreach (string set in StaticSets) Line(text, $"flush set inet {Table} {set}");
        Line(text, $"flush map inet {Table} pod-class");
        foreach (var o in classes.SelectMany(c => c.Objects()).Where(o => o.Kind != "chain"))
            Line(text, $"flush {o.Kind} inet {Table} {o.Name}");
        // 3. Class objects nobody needs any more: maps and sets first (a map element may point at a chain).
        var stale = existing.Where(o => o.Name.StartsWith(ClassPrefix, StringComparison.Ordinal) && !wanted.Contains(o.Name))
            .OrderBy(o => o.Kind == "chain").ThenBy(o => o.Name, StringComparer.Ordinal);
        foreach (var o in stale) Line(text, $"delete {o.Kind} inet {Table} {o.Name}");
        // 4. Rules and elements as the desired state has them.
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{\n");
        AppendStaticRules(text);
        foreach (var layout in classes) layout.AppendRules(text, options);
        text.Append("}\n");
        AppendStaticElements(text, desired);
        foreach (var layout in classes) layout.AppendElements(text);
        return text.ToString();
    }

    public static string ChainOf(string classId) => ClassPrefix + classId;

    private static void AppendStaticDeclarations(StringBuilder text) => text.Append("""
          set pod-sources-v4 { type ifname . ipv4_addr; comment "the only source addresses each known pod veth may use"; }
          set pod-sources-v6 { type ifname . ipv6_addr; }
          map pod-class { type ifname : verdict; comment "pods isolated for egress -> their class chain"; }
          chain prerouting { type filter hook prerouting priority dstnat + 10; policy accept; }
          chain from-pod { }
          chain from-pod-v4 { }
          chain from-pod-v6 { }

        """);

    // A veth the agent does not know has no entry in pod-sources, so the anti-spoofing rule also
    // fails it closed. Per family, so a new connection meets as few rules as possible.
    private static void AppendStaticRules(StringBuilder text) => text.Append(CultureInfo.InvariantCulture, $$"""
          chain prerouting {
            iifname "{{PodInterfacePattern}}" jump from-pod
          }
          chain from-pod {
            meta nfproto ipv4 goto from-pod-v4
            meta nfproto ipv6 goto from-pod-v6
          }
          chain from-pod-v4 {
            iifname . ip saddr != @pod-sources-v4 counter drop comment "spoofed source, or a pod not known yet: fail closed"
            ct state established,related accept
            ct state invalid counter drop
            iifname vmap @pod-class
          }
          chain from-pod-v6 {
            ip6 saddr { ::, fe80::/10 } ip6 daddr { fe80::/10, ff02::/16 } accept comment "link-local: neighbour discovery, DAD, MLD"
            iifname . ip6 saddr != @pod-sources-v6 counter drop comment "spoofed source, or a pod not known yet: fail closed"
            ct state established,related accept
            ct state invalid counter drop
            iifname vmap @pod-class
          }

        """);

    private static void AppendStaticElements(StringBuilder text, DesiredDataplane desired)
    {
        AddElements(text, "pod-sources-v4", desired.PodSources.Where(s => !DataplaneVerdict.IsIPv6(s.Address)).Select(s => $"{Quote(s.HostInterface)} . {s.Address}"));
        AddElements(text, "pod-sources-v6", desired.PodSources.Where(s => DataplaneVerdict.IsIPv6(s.Address)).Select(s => $"{Quote(s.HostInterface)} . {s.Address}"));
        AddElements(text, "pod-class", desired.ClassOfInterface.Select(kv => $"{Quote(kv.Key)} : goto {ChainOf(kv.Value)}"));
    }

    /// <summary>The kernel objects of one class: its chain, two interval sets of destinations open
    /// on every port, a verdict map from (protocol, port range) to a port group, and per group a
    /// chain with two interval sets.</summary>
    private sealed class ClassLayout(EgressClass egress)
    {
        private readonly string chain = ChainOf(egress.Id);
        private readonly PortGroups.Layout ports = PortGroups.Build(egress.Ports);

        private string Group(int index) => $"{chain}-g{index}";

        public IEnumerable<TableObject> Objects()
        {
            yield return new("chain", chain);
            yield return new("set", chain + "-any-v4");
            yield return new("set", chain + "-any-v6");
            yield return new("map", chain + "-ports");
            for (int g = 0; g < ports.Groups.Count; g++)
            {
                yield return new("chain", Group(g));
                yield return new("set", Group(g) + "-v4");
                yield return new("set", Group(g) + "-v6");
            }
        }

        public void AppendDeclarations(StringBuilder text)
        {
            Line(text, $"  set {chain}-any-v4 {{ type ipv4_addr; flags interval; }}");
            Line(text, $"  set {chain}-any-v6 {{ type ipv6_addr; flags interval; }}");
            Line(text, $"  map {chain}-ports {{ type inet_proto . inet_service : verdict; flags interval; }}");
            Line(text, $"  chain {chain} {{ }}");
            for (int g = 0; g < ports.Groups.Count; g++)
            {
                Line(text, $"  set {Group(g)}-v4 {{ type ipv4_addr; flags interval; }}");
                Line(text, $"  set {Group(g)}-v6 {{ type ipv6_addr; flags interval; }}");
                Line(text, $"  chain {Group(g)} {{ }}");
            }
        }

        public void AppendRules(StringBuilder text, Options options)
        {
            text.Append(CultureInfo.InvariantCulture, $$"""
                  chain {{chain}} {
                    comment "{{Comment(egress.Policies)}}"
                    ip daddr @{{chain}}-any-v4 accept
                    ip6 daddr @{{chain}}-any-v6 accept
                    meta l4proto . th dport vmap @{{chain}}-ports
                    limit rate {{options.LogRate}} log group {{options.LogGroup}} prefix "ceg-deny {{egress.Id}} "
                    counter {{(options.Reject ? "reject with icmpx admin-prohibited" : "drop")}}
                  }

                """);
            for (int g = 0; g < ports.Groups.Count; g++)
                Line(text, $"  chain {Group(g)} {{\n    ip daddr @{Group(g)}-v4 accept\n    ip6 daddr @{Group(g)}-v6 accept\n  }}");
        }

        public void AppendElements(StringBuilder text)
        {
            AddElements(text, chain + "-any-v4", egress.AnyTraffic.Where(r => !r.IsIPv6).Select(r => r.ToString()));
            AddElements(text, chain + "-any-v6", egress.AnyTraffic.Where(r => r.IsIPv6).Select(r => r.ToString()));
            AddElements(text, chain + "-ports", ports.Entries.Select(e =>
                $"{Protocols.Name(e.Protocol)} . {PortRange(e.FirstPort, e.LastPort)} : jump {Group(e.Group)}"));
            for (int g = 0; g < ports.Groups.Count; g++)
            {
                AddElements(text, Group(g) + "-v4", ports.Groups[g].Where(r => !r.IsIPv6).Select(r => r.ToString()));
                AddElements(text, Group(g) + "-v6", ports.Groups[g].Where(r => r.IsIPv6).Select(r => r.ToString()));
            }
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

    private static string PortRange(ushort first, ushort last) =>
        first == last ? first.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{first}-{last}");

    private static string Quote(string name) => "\"" + name + "\"";

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');

    /// <summary>Elements go in chunks: one huge line is slow for nft's parser.</summary>
    private static void AddElements(StringBuilder text, string set, IEnumerable<string> elements)
    {
        foreach (var chunk in elements.Chunk(2000))
            text.Append(CultureInfo.InvariantCulture, $"add element inet {Table} {set} {{ {string.Join(", ", chunk)} }}\n");
    }
}
