using System.Net;
using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>An <see cref="PolicyClass"/> prepared for many lookups (a conntrack sweep asks once
/// per tracked connection): binary searches over its merged destinations and over its port boxes,
/// which the compiler leaves disjoint per protocol, sorted by destination.</summary>
public sealed class ClassMatcher
{
    private readonly RangeLookup anyTraffic;
    private readonly Dictionary<(byte, bool), PortBox[]> boxes;

    public ClassMatcher(PolicyClass egress)
    {
        anyTraffic = new RangeLookup(egress.AnyTraffic);
        boxes = egress.Ports.GroupBy(b => (b.Protocol, b.Destination.IsIPv6))
            .ToDictionary(g => g.Key, g => g.OrderBy(b => b.Destination.First).ThenBy(b => b.FirstPort).ToArray());
    }

    public bool Allows(IPAddress destination, byte protocol, int port)
    {
        if (anyTraffic.Contains(destination)) return true;
        var probe = AddressRange.Host(destination);
        if (!boxes.TryGetValue((protocol, probe.IsIPv6), out var sorted)) return false;
        // The last box starting at or before the address; boxes with the same destination range sit together.
        int low = 0, high = sorted.Length - 1, found = -1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            if (sorted[middle].Destination.First <= probe.First) { found = middle; low = middle + 1; }
            else high = middle - 1;
        }
        for (int i = found; i >= 0 && sorted[i].Destination.First == sorted[found].Destination.First; i--)
            if (sorted[i].Contains(destination, protocol, port)) return true;
        return false;
    }
}
