using System.Globalization;
using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>What a class allows, in one canonical form whatever boxes it was built from:
/// destinations open on every port, then per protocol the port ranges (maximal, in order) with
/// the further destinations each opens. Two classes allow the same traffic iff their forms are
/// equal, which is what comparing the kernel with the compiled state needs, and it reads well.</summary>
public sealed record AllowedTraffic(IReadOnlyList<AddressRange> AnyPort, IReadOnlyList<AllowedPorts> Ports)
{
    public static AllowedTraffic Of(PolicyClass egress)
    {
        var any = AddressRange.Merge(egress.AnyTraffic);
        var ports = new List<AllowedPorts>();
        foreach (var byProtocol in egress.Ports.GroupBy(b => b.Protocol).OrderBy(g => g.Key))
        {
            var boxes = byProtocol.ToList();
            var cuts = boxes.SelectMany(b => new[] { (int)b.FirstPort, b.LastPort + 1 }).Distinct().Order().ToList();
            for (int i = 0; i + 1 < cuts.Count; i++)
            {
                int first = cuts[i], last = cuts[i + 1] - 1;
                var open = AddressRange.Merge(boxes.Where(b => b.FirstPort <= first && last <= b.LastPort).Select(b => b.Destination))
                    .SelectMany(r => r.Subtract(any)).ToList();
                if (open.Count == 0) continue;
                if (ports.Count > 0 && ports[^1].Protocol == byProtocol.Key && ports[^1].Last + 1 == first && ports[^1].Destinations.SequenceEqual(open))
                    ports[^1] = ports[^1] with { Last = (ushort)last };
                else
                    ports.Add(new AllowedPorts(byProtocol.Key, (ushort)first, (ushort)last, open));
            }
        }
        return new AllowedTraffic(any, ports);
    }

    public bool Allows(System.Net.IPAddress destination, byte protocol, int port) =>
        AnyPort.Any(r => r.Contains(destination))
        || Ports.Any(p => p.Protocol == protocol && p.First <= port && port <= p.Last && p.Destinations.Any(r => r.Contains(destination)));

    /// <summary>Nothing allowed (an isolated pod whose policies open nothing).</summary>
    public bool IsEmpty => AnyPort.Count == 0 && Ports.Count == 0;

    /// <summary>One line per entry: "any port: 10.0.0.0/8, ...", "tcp 80: 203.0.113.0/24".</summary>
    public IEnumerable<string> Lines()
    {
        if (AnyPort.Count > 0) yield return "any port: " + string.Join(", ", AnyPort);
        foreach (var entry in Ports) yield return entry.Label + ": " + string.Join(", ", entry.Destinations);
    }
}

public sealed record AllowedPorts(byte Protocol, ushort First, ushort Last, IReadOnlyList<AddressRange> Destinations)
{
    public string Label => Protocols.Name(Protocol) + " " + (First == Last ? First.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}"));
}

/// <summary>Where two dataplanes (the compiled one and the kernel's) disagree, per pod interface:
/// its source addresses, whether it is isolated, and what its class allows.</summary>
public static class DataplaneDiff
{
    public static IReadOnlyList<string> Between(DesiredDataplane desired, DesiredDataplane kernel)
    {
        var differences = new List<string>();
        var wantedSources = SourcesByInterface(desired);
        var liveSources = SourcesByInterface(kernel);
        foreach (string iface in wantedSources.Keys.Union(liveSources.Keys).Order(StringComparer.Ordinal))
        {
            var wanted = wantedSources.GetValueOrDefault(iface) ?? [];
            var live = liveSources.GetValueOrDefault(iface) ?? [];
            if (!wanted.SetEquals(live))
                differences.Add($"{iface}: source addresses: desired {Join(wanted)}, kernel {Join(live)}");
        }
        CompareSide("", desired.ClassOfInterface, desired.Classes, kernel.ClassOfInterface, kernel.Classes, differences);
        CompareSide("ingress ", desired.Ingress.ClassOfInterface, desired.Ingress.Classes, kernel.Ingress.ClassOfInterface, kernel.Ingress.Classes, differences);
        return differences;
    }

    /// <summary>One direction, pod by pod; <paramref name="side"/> prefixes what is said ("" for egress).</summary>
    private static void CompareSide(string side, IReadOnlyDictionary<string, string> wantedOf, IReadOnlyDictionary<string, PolicyClass> wantedClasses,
        IReadOnlyDictionary<string, string> liveOf, IReadOnlyDictionary<string, PolicyClass> liveClasses, List<string> differences)
    {
        string peer = side.Length == 0 ? "" : "from ";
        foreach (string iface in wantedOf.Keys.Union(liveOf.Keys).Order(StringComparer.Ordinal))
        {
            bool wantedIsolated = wantedOf.TryGetValue(iface, out var wantedClass);
            bool liveIsolated = liveOf.TryGetValue(iface, out var liveClass);
            if (wantedIsolated != liveIsolated)
            {
                differences.Add($"{iface}: desired {side}{(wantedIsolated ? "isolated" : "not isolated")}, kernel {(liveIsolated ? "isolated" : "not isolated")}");
                continue;
            }
            var want = AllowedTraffic.Of(wantedClasses[wantedClass!]).Lines().ToHashSet(StringComparer.Ordinal);
            var have = AllowedTraffic.Of(liveClasses[liveClass!]).Lines().ToHashSet(StringComparer.Ordinal);
            foreach (string line in want.Where(l => !have.Contains(l)).Order(StringComparer.Ordinal))
                differences.Add($"{iface}: desired {side}allows {peer}{line}; the kernel does not hold it so");
            foreach (string line in have.Where(l => !want.Contains(l)).Order(StringComparer.Ordinal))
                differences.Add($"{iface}: the kernel {side}allows {peer}{line}; desired does not");
        }
    }

    private static Dictionary<string, HashSet<System.Net.IPAddress>> SourcesByInterface(DesiredDataplane dataplane) =>
        dataplane.PodSources.GroupBy(s => s.HostInterface, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(s => s.Address).ToHashSet(), StringComparer.Ordinal);

    private static string Join(IEnumerable<System.Net.IPAddress> addresses) =>
        addresses.Any() ? string.Join(",", addresses.Select(a => a.ToString()).Order(StringComparer.Ordinal)) : "(none)";
}
