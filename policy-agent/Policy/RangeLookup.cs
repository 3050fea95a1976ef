using System.Net;
using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Membership in a set of ranges by binary search over their merged form.</summary>
internal sealed class RangeLookup(IEnumerable<AddressRange> ranges)
{
    private readonly List<AddressRange> merged = AddressRange.Merge(ranges);

    public bool Contains(IPAddress address)
    {
        var probe = AddressRange.Host(address);
        int low = 0, high = merged.Count - 1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            var range = merged[middle];
            if (range.IsIPv6 == probe.IsIPv6 && range.First <= probe.First && probe.First <= range.Last) return true;
            if (range.CompareTo(probe) < 0) low = middle + 1;
            else high = middle - 1;
        }
        return false;
    }
}
