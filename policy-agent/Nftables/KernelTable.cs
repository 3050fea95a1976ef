using System.Globalization;
using System.Net;
using System.Text.Json;
using CniEgress.Net;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Our table as the kernel holds it (from `nft -j list table`), read back into the
/// compiler's own terms: a <see cref="DesiredDataplane"/> whose classes are named after the class
/// chains. So the live kernel can be evaluated (<see cref="DataplaneVerdict"/>) and compared
/// (<see cref="DataplaneDiff"/>) exactly like the compiled state. Pure: parses text.</summary>
public sealed class KernelTable
{
    private readonly Dictionary<string, List<JsonElement>> elements = new(StringComparer.Ordinal);
    private readonly List<(string Chain, int Group, string Prefix)> logs = [];

    private KernelTable() { }

    /// <summary>Elements per set or map, for status.</summary>
    public IReadOnlyDictionary<string, int> ElementCounts => elements.ToDictionary(kv => kv.Key, kv => kv.Value.Count, StringComparer.Ordinal);

    /// <summary>The NFLOG groups our rules log to, with the prefix each uses.</summary>
    public IReadOnlyList<(string Chain, int Group, string Prefix)> LogStatements => logs;

    /// <summary>Parses `nft -j list table inet cni-egress` output.</summary>
    public static KernelTable Parse(string json)
    {
        var table = new KernelTable();
        using var document = JsonDocument.Parse(json);
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            foreach (string kind in new[] { "set", "map" })
                if (item.TryGetProperty(kind, out var set))
                    table.elements[set.GetProperty("name").GetString()!] = set.TryGetProperty("elem", out var elem)
                        ? elem.EnumerateArray().Select(e => e.Clone()).ToList() : [];
            if (item.TryGetProperty("rule", out var rule))
                foreach (var expression in rule.GetProperty("expr").EnumerateArray())
                    if (expression.TryGetProperty("log", out var log) && log.ValueKind == JsonValueKind.Object && log.TryGetProperty("group", out var group))
                        table.logs.Add((rule.GetProperty("chain").GetString()!, group.GetInt32(),
                            log.TryGetProperty("prefix", out var prefix) ? prefix.GetString() ?? "" : ""));
        }
        return table;
    }

    /// <summary>The kernel's state as a dataplane: anti-spoofing pairs, each pod's class chain on
    /// either side, and for each class chain what its sets and port map open.</summary>
    public DesiredDataplane ToDataplane()
    {
        var sources = new List<PodSource>();
        foreach (var element in Set("pod-sources-v4").Concat(Set("pod-sources-v6")))
        {
            var pair = element.GetProperty("concat");
            sources.Add(new PodSource(pair[0].GetString()!, IPAddress.Parse(pair[1].GetString()!)));
        }
        var (classOf, classes) = ReadClasses("pod-class");
        var (ingressClassOf, ingressClasses) = ReadClasses("pod-ingress-class");
        return new DesiredDataplane(sources, classOf, classes, []) { Ingress = new IngressClasses(ingressClassOf, ingressClasses) };
    }

    /// <summary>A class map (interface : goto chain) and what each chain it names opens.</summary>
    private (SortedDictionary<string, string>, SortedDictionary<string, PolicyClass>) ReadClasses(string map)
    {
        var classOf = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Set(map))
        {
            var verdict = entry[1];
            string? target = verdict.TryGetProperty("goto", out var g) ? g.GetProperty("target").GetString()
                : verdict.TryGetProperty("jump", out var j) ? j.GetProperty("target").GetString() : null;
            if (target != null) classOf[entry[0].GetString()!] = target;
        }
        var classes = new SortedDictionary<string, PolicyClass>(StringComparer.Ordinal);
        foreach (string chain in classOf.Values.Distinct(StringComparer.Ordinal))
            classes[chain] = ReadClass(chain);
        return (classOf, classes);
    }

    private PolicyClass ReadClass(string chain)
    {
        var any = Ranges(chain + "-any-v4", false).Concat(Ranges(chain + "-any-v6", true)).ToList();
        var boxes = new List<PortBox>();
        foreach (var entry in Set(chain + "-ports"))
        {
            var key = entry[0].GetProperty("concat");
            byte protocol = ProtocolNumber(key[0]);
            var (first, last) = PortRange(key[1]);
            string group = entry[1].GetProperty("jump").GetProperty("target").GetString()!;
            foreach (var destination in Ranges(group + "-v4", false).Concat(Ranges(group + "-v6", true)))
                boxes.Add(new PortBox(destination, protocol, first, last));
        }
        return new PolicyClass(chain, [], any, boxes);
    }

    private IEnumerable<JsonElement> Set(string name) => elements.GetValueOrDefault(name) ?? [];

    private IEnumerable<AddressRange> Ranges(string set, bool ipv6)
    {
        foreach (var element in Set(set))
        {
            if (element.ValueKind == JsonValueKind.String)
            {
                yield return AddressRange.Host(IPAddress.Parse(element.GetString()!));
            }
            else if (element.TryGetProperty("prefix", out var prefix))
            {
                yield return AddressRange.Of(new IPNetwork(IPAddress.Parse(prefix.GetProperty("addr").GetString()!), prefix.GetProperty("len").GetInt32()));
            }
            else if (element.TryGetProperty("range", out var range))
            {
                var first = AddressRange.Host(IPAddress.Parse(range[0].GetString()!));
                var last = AddressRange.Host(IPAddress.Parse(range[1].GetString()!));
                yield return new AddressRange(ipv6, first.First, last.Last);
            }
        }
    }

    private static byte ProtocolNumber(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetByte()
            : Protocols.TryParse(value.GetString()!.ToUpperInvariant(), out byte protocol) ? protocol
            : byte.Parse(value.GetString()!, CultureInfo.InvariantCulture);

    private static (ushort, ushort) PortRange(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? (value.GetUInt16(), value.GetUInt16())
            : (value.GetProperty("range")[0].GetUInt16(), value.GetProperty("range")[1].GetUInt16());
}
