using System.Globalization;
using System.Text;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Renders a <see cref="DesiredDataplane"/> placed in slots as one nft transaction (the
/// `nft -f` text format) for table inet cni-egress. Rules are fixed templates over two pools of
/// slots, one per direction (a class slot: chain, two peer sets, a port map; a group slot: chain,
/// two peer sets); what varies is set and map contents. A new connection's verdict costs a
/// constant number of lookups whatever the number of policies, rules, pods or CIDRs. Egress, in
/// prerouting: interface and source, conntrack, class map by input interface, then one interval
/// set of destinations, one small port map and one more interval set. Ingress, in forward (so
/// only routed traffic: the node's own connections to its pods, kubelet probes among them, stay
/// allowed): conntrack, class map by output interface, then the same three lookups on sources.</summary>
public static class NftRuleset
{
    public const string Table = "cni-egress";
    public const string PodInterfacePattern = "ceg*";
    public const int DefaultLogGroup = 100;
    public const string LogPrefix = "ceg-deny ";
    public const string AllowPrefix = "ceg-allow ";

    /// <summary>The ct mark bit of a connection a tightened policy no longer allows (set by the
    /// conntrack sweep): its packets skip the established fast path and meet the class chain again.</summary>
    public const uint DeniedFlowMark = 0x00800000;

    /// <param name="LogGroup">The audit log's group: denied packets, rate limited. The debug CLI's
    /// `flows` taps the next two: <see cref="Options.DeniedTap"/> (every denied packet) and
    /// <see cref="Options.AllowedTap"/> (every allowed new connection). A group nobody listens
    /// to costs one hash lookup in the kernel.</param>
    public sealed record Options(bool Reject = false, int LogGroup = DefaultLogGroup, string LogRate = "10/second")
    {
        public int DeniedTap => LogGroup + 1;
        public int AllowedTap => LogGroup + 2;
    }

    /// <summary>An object of our table as the kernel lists it: kind "chain", "set" or "map".</summary>
    public readonly record struct TableObject(string Kind, string Name);

    /// <summary>The whole table in one transaction: the table is never deleted (no moment without
    /// rules); its rules and elements are flushed and re-added, and the objects in
    /// <paramref name="existing"/> that the layout no longer has are deleted. Every slot of the
    /// pool gets its chain and rules, occupied or not, so later updates only change elements.
    /// nft parses every element here, which is slow for 100k of them: with an nfnetlink writer
    /// the dataplane uses <see cref="Structure"/>, elements over nfnetlink, and <see cref="Cleanup"/>.</summary>
    public static string FullSync(DesiredDataplane desired, SlotPools slots, IEnumerable<TableObject> existing, Options? options = null)
    {
        options ??= new Options();
        var objects = Objects(slots);
        var text = new StringBuilder();
        AppendDeclarations(text, slots);
        // `flush table` removes rules only; sets and maps are flushed one by one.
        text.Append(CultureInfo.InvariantCulture, $"flush table inet {Table}\n");
        foreach (var o in objects.Where(o => o.Kind != "chain")) Line(text, $"flush {o.Kind} inet {Table} {o.Name}");
        AppendDeletions(text, objects, existing);
        AppendRules(text, slots, options);
        AppendPodElements(text, desired, slots);
        foreach (var placement in slots.Placed.OrderBy(p => p.Direction).ThenBy(p => p.Slot)) AppendClassElements(text, placement);
        return text.ToString();
    }

    /// <summary>First step of a generation switch: the static objects and the pool of
    /// <paramref name="slots"/>' generation, with their rules, in one transaction. Only those
    /// chains are flushed (and refilled in the same transaction); the live generation keeps
    /// enforcing untouched until the elements switch pods over.</summary>
    public static string Structure(SlotPools slots, Options? options = null)
    {
        options ??= new Options();
        var text = new StringBuilder();
        AppendDeclarations(text, slots);
        foreach (var chain in Objects(slots).Where(o => o.Kind == "chain"))
            Line(text, $"flush chain inet {Table} {chain.Name}");
        AppendRules(text, slots, options);
        return text.ToString();
    }

    /// <summary>Every set and map the elements of a switch must empty first: the per-pod ones and the new generation's.</summary>
    public static IEnumerable<string> SetsToRefill(SlotPools slots) => Objects(slots).Where(o => o.Kind != "chain").Select(o => o.Name);

    /// <summary>Last step of a generation switch: delete what <paramref name="existing"/> holds that
    /// the new layout does not (the old generation, nothing references it any more); null when nothing is left over.</summary>
    public static string? Cleanup(SlotPools slots, IEnumerable<TableObject> existing)
    {
        var text = new StringBuilder();
        AppendDeletions(text, Objects(slots), existing);
        return text.Length == 0 ? null : text.ToString();
    }

    private static List<TableObject> Objects(SlotPools slots) => StaticObjects.Concat(PoolObjects(slots)).ToList();

    private static void AppendDeclarations(StringBuilder text, SlotPools slots)
    {
        // Declaring an object that exists is a no-op, so this creates only what is missing.
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{\n");
        AppendStaticDeclarations(text);
        AppendPoolDeclarations(text, slots);
        text.Append("}\n");
    }

    /// <summary>Objects nobody needs any more. Their chains' rules go first (a rule holds the sets
    /// it looks up), then maps and sets (a map element holds the chain it jumps to), then chains.</summary>
    private static void AppendDeletions(StringBuilder text, List<TableObject> wanted, IEnumerable<TableObject> existing)
    {
        var names = wanted.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var stale = existing.Where(o => !names.Contains(o.Name)).OrderBy(o => o.Name, StringComparer.Ordinal).ToList();
        foreach (var o in stale.Where(o => o.Kind == "chain")) Line(text, $"flush chain inet {Table} {o.Name}");
        foreach (var o in stale.Where(o => o.Kind != "chain")) Line(text, $"delete {o.Kind} inet {Table} {o.Name}");
        foreach (var o in stale.Where(o => o.Kind == "chain")) Line(text, $"delete chain inet {Table} {o.Name}");
    }

    private static void AppendRules(StringBuilder text, SlotPools slots, Options options)
    {
        text.Append(CultureInfo.InvariantCulture, $"table inet {Table} {{\n");
        AppendStaticRules(text, options);
        AppendPoolRules(text, slots, options);
        text.Append("}\n");
    }

    private static readonly TableObject[] StaticObjects =
    [
        new("set", "pod-sources-v4"), new("set", "pod-sources-v6"), new("map", "pod-class"), new("set", "pod-denials"),
        new("map", "pod-ingress-class"), new("set", "pod-ingress-denials"),
        new("chain", "prerouting"), new("chain", "from-pod"), new("chain", "from-pod-v4"), new("chain", "from-pod-v6"),
        new("chain", "forward"), new("chain", "to-pod"),
    ];

    private static IEnumerable<TableObject> PoolObjects(SlotPools slots)
    {
        foreach (var pool in slots.Both)
        {
            for (int s = 0; s < pool.ClassCapacity; s++)
            {
                string chain = SlotNames.ClassChain(pool.Direction, pool.Generation, s);
                yield return new("chain", chain);
                yield return new("set", chain + "-any-v4");
                yield return new("set", chain + "-any-v6");
                yield return new("map", chain + "-ports");
            }
            for (int g = 0; g < pool.GroupCapacity; g++)
            {
                string group = SlotNames.GroupChain(pool.Direction, pool.Generation, g);
                yield return new("chain", group);
                yield return new("set", group + "-v4");
                yield return new("set", group + "-v6");
            }
        }
    }

    private static void AppendStaticDeclarations(StringBuilder text) => text.Append("""
          set pod-sources-v4 { type ifname . ipv4_addr; comment "the only source addresses each known pod veth may use"; }
          set pod-sources-v6 { type ifname . ipv6_addr; }
          map pod-class { type ifname : verdict; comment "pods isolated for egress -> the chain of their class"; }
          set pod-denials { type ifname; counter; comment "per pod: packets its egress policies denied"; }
          map pod-ingress-class { type ifname : verdict; comment "pods isolated for ingress -> the chain of their class"; }
          set pod-ingress-denials { type ifname; counter; comment "per pod: packets its ingress policies denied"; }
          chain prerouting { type filter hook prerouting priority dstnat + 10; policy accept; }
          chain from-pod { }
          chain from-pod-v4 { }
          chain from-pod-v6 { }
          chain forward { type filter hook forward priority filter + 10; policy accept; }
          chain to-pod { }

        """);

    private static void AppendPoolDeclarations(StringBuilder text, SlotPools slots)
    {
        foreach (var pool in slots.Both)
        {
            for (int s = 0; s < pool.ClassCapacity; s++)
            {
                string chain = SlotNames.ClassChain(pool.Direction, pool.Generation, s);
                Line(text, $"  set {chain}-any-v4 {{ type ipv4_addr; flags interval; }}");
                Line(text, $"  set {chain}-any-v6 {{ type ipv6_addr; flags interval; }}");
                Line(text, $"  map {chain}-ports {{ type inet_proto . inet_service : verdict; flags interval; }}");
                Line(text, $"  chain {chain} {{ }}");
            }
            for (int g = 0; g < pool.GroupCapacity; g++)
            {
                string group = SlotNames.GroupChain(pool.Direction, pool.Generation, g);
                Line(text, $"  set {group}-v4 {{ type ipv4_addr; flags interval; }}");
                Line(text, $"  set {group}-v6 {{ type ipv6_addr; flags interval; }}");
                Line(text, $"  chain {group} {{ }}");
            }
        }
    }

    // A veth the agent does not know has no entry in pod-sources, so the anti-spoofing rule also
    // fails it closed. Per family, so a new connection meets as few rules as possible.
    private static readonly string DeniedFlowMarkHex = string.Create(CultureInfo.InvariantCulture, $"0x{DeniedFlowMark:x8}");

    private static void AppendStaticRules(StringBuilder text, Options options) => text.Append(CultureInfo.InvariantCulture, $$"""
          chain prerouting {
            iifname "{{PodInterfacePattern}}" jump from-pod
          }
          chain from-pod {
            meta nfproto ipv4 goto from-pod-v4
            meta nfproto ipv6 goto from-pod-v6
          }
          chain from-pod-v4 {
            iifname . ip saddr != @pod-sources-v4 counter drop comment "spoofed source, or a pod not known yet: fail closed"
            ct state established,related ct mark & {{DeniedFlowMarkHex}} == 0 accept
            ct state invalid counter drop
            iifname vmap @pod-class
            log group {{options.AllowedTap}} prefix "{{AllowPrefix}}- " comment "a pod no policy isolates"
          }
          chain from-pod-v6 {
            ip6 saddr { ::, fe80::/10 } ip6 daddr { fe80::/10, ff02::/16 } accept comment "link-local: neighbour discovery, DAD, MLD"
            iifname . ip6 saddr != @pod-sources-v6 counter drop comment "spoofed source, or a pod not known yet: fail closed"
            ct state established,related ct mark & {{DeniedFlowMarkHex}} == 0 accept
            ct state invalid counter drop
            iifname vmap @pod-class
            log group {{options.AllowedTap}} prefix "{{AllowPrefix}}- " comment "a pod no policy isolates"
          }
          chain forward {
            oifname "{{PodInterfacePattern}}" jump to-pod
          }
          chain to-pod {
            ct state established,related ct mark & {{DeniedFlowMarkHex}} == 0 accept
            ct state invalid counter drop
            oifname . ip daddr != @pod-sources-v4 counter drop comment "a pod not known yet, or not its address: fail closed"
            oifname . ip6 daddr != @pod-sources-v6 counter drop comment "a pod not known yet, or not its address: fail closed"
            oifname vmap @pod-ingress-class
          }

        """);

    /// <summary>A class slot: peers open on every port, then (protocol, port) to a group slot,
    /// then the denial: counted for the pod (its element in pod-denials or pod-ingress-denials),
    /// logged with the slot in the prefix (the pod is the packet's input interface on egress, its
    /// output interface on ingress), dropped or rejected.</summary>
    private static void AppendPoolRules(StringBuilder text, SlotPools slots, Options options)
    {
        // Reject: a TCP client sees its connection refused at once (RST); anything else gets
        // ICMP administratively prohibited. Drop (the default) leaves clients to time out.
        string verdict = options.Reject
            ? "meta l4proto tcp counter reject with tcp reset\n    counter reject with icmpx admin-prohibited"
            : "counter drop";
        foreach (var pool in slots.Both)
        {
            bool egress = pool.Direction == Direction.Egress;
            string peer = egress ? "daddr" : "saddr";
            string pod = egress ? "iifname @pod-denials" : "oifname @pod-ingress-denials";
            for (int s = 0; s < pool.ClassCapacity; s++)
            {
                string chain = SlotNames.ClassChain(pool.Direction, pool.Generation, s);
                text.Append(CultureInfo.InvariantCulture, $$"""
                      chain {{chain}} {
                        ip {{peer}} @{{chain}}-any-v4 log group {{options.AllowedTap}} prefix "{{AllowPrefix}}{{chain}} " accept
                        ip6 {{peer}} @{{chain}}-any-v6 log group {{options.AllowedTap}} prefix "{{AllowPrefix}}{{chain}} " accept
                        meta l4proto . th dport vmap @{{chain}}-ports
                        {{pod}}
                        limit rate {{options.LogRate}} log group {{options.LogGroup}} prefix "{{LogPrefix}}{{chain}} "
                        log group {{options.DeniedTap}} prefix "{{LogPrefix}}{{chain}} "
                        {{verdict}}
                      }

                    """);
            }
            for (int g = 0; g < pool.GroupCapacity; g++)
            {
                string group = SlotNames.GroupChain(pool.Direction, pool.Generation, g);
                string log = string.Create(CultureInfo.InvariantCulture, $"log group {options.AllowedTap} prefix \"{AllowPrefix}{group} \"");
                Line(text, $"  chain {group} {{\n    ip {peer} @{group}-v4 {log} accept\n    ip6 {peer} @{group}-v6 {log} accept\n  }}");
            }
        }
    }

    private static void AppendPodElements(StringBuilder text, DesiredDataplane desired, SlotPools slots)
    {
        AddElements(text, "pod-sources-v4", desired.PodSources.Where(s => !DataplaneVerdict.IsIPv6(s.Address)).Select(s => $"{Quote(s.HostInterface)} . {s.Address}"));
        AddElements(text, "pod-sources-v6", desired.PodSources.Where(s => DataplaneVerdict.IsIPv6(s.Address)).Select(s => $"{Quote(s.HostInterface)} . {s.Address}"));
        AddElements(text, "pod-class", desired.ClassOfInterface.Select(kv => $"{Quote(kv.Key)} : goto {slots.Egress.Placed[kv.Value].Chain}"));
        AddElements(text, "pod-denials", desired.ClassOfInterface.Keys.Select(Quote));
        AddElements(text, "pod-ingress-class", desired.Ingress.ClassOfInterface.Select(kv => $"{Quote(kv.Key)} : goto {slots.Ingress.Placed[kv.Value].Chain}"));
        AddElements(text, "pod-ingress-denials", desired.Ingress.ClassOfInterface.Keys.Select(Quote));
    }

    private static void AppendClassElements(StringBuilder text, ClassPlacement placement)
    {
        string chain = placement.Chain;
        var egress = placement.Class;
        AddElements(text, chain + "-any-v4", egress.AnyTraffic.Where(r => !r.IsIPv6).Select(r => r.ToString()));
        AddElements(text, chain + "-any-v6", egress.AnyTraffic.Where(r => r.IsIPv6).Select(r => r.ToString()));
        AddElements(text, chain + "-ports", placement.Ports.Entries.Select(e =>
            $"{Protocols.Name(e.Protocol)} . {PortRange(e.FirstPort, e.LastPort)} : jump {placement.GroupChain(e.Group)}"));
        for (int g = 0; g < placement.GroupSlots.Count; g++)
        {
            string group = placement.GroupChain(g);
            AddElements(text, group + "-v4", placement.Ports.Groups[g].Where(r => !r.IsIPv6).Select(r => r.ToString()));
            AddElements(text, group + "-v6", placement.Ports.Groups[g].Where(r => r.IsIPv6).Select(r => r.ToString()));
        }
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
