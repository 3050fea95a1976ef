using System.Globalization;
using System.Net;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Diagnostics;

/// <summary>The ports one side opens between a pod and a peer: every port (and protocol), or
/// (protocol, port range) entries. A flow between two pods of the node gets what both sides open.</summary>
internal sealed record OpenPorts(IReadOnlyList<(byte Protocol, ushort First, ushort Last)>? Ranges)
{
    public static readonly OpenPorts Every = new((IReadOnlyList<(byte, ushort, ushort)>?)null);

    /// <summary>What <paramref name="hostInterface"/>'s class on one side opens to <paramref name="peer"/>; every port when it is not isolated.</summary>
    public static OpenPorts Of(IReadOnlyDictionary<string, string> classOf, IReadOnlyDictionary<string, PolicyClass> classes, string hostInterface, IPAddress peer)
    {
        if (!classOf.TryGetValue(hostInterface, out var id)) return Every;
        var allowed = AllowedTraffic.Of(classes[id]);
        if (allowed.AnyPort.Any(r => r.Contains(peer))) return Every;
        return new(allowed.Ports.Where(p => p.Destinations.Any(r => r.Contains(peer))).Select(p => (p.Protocol, p.First, p.Last)).ToList());
    }

    public static OpenPorts Intersect(OpenPorts a, OpenPorts b)
    {
        if (a.Ranges == null) return b;
        if (b.Ranges == null) return a;
        var both = new List<(byte, ushort, ushort)>();
        foreach (var x in a.Ranges)
            foreach (var y in b.Ranges)
                if (x.Protocol == y.Protocol && Math.Max(x.First, y.First) <= Math.Min(x.Last, y.Last))
                    both.Add((x.Protocol, Math.Max(x.First, y.First), Math.Min(x.Last, y.Last)));
        return new(both.OrderBy(r => r).ToList());
    }

    /// <summary>"every port", or "tcp 80", "udp 5000-5010", ...</summary>
    public IReadOnlyList<string> Labels() => Ranges == null ? ["every port"]
        : Ranges.Select(r => Protocols.Name(r.Protocol) + " " + (r.First == r.Last ? r.First.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{r.First}-{r.Last}"))).ToList();
}
