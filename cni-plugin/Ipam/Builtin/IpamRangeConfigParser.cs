using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CniEgress.CniPlugin.Cni;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>Reads ipam.ranges (host-local's shape, or its legacy single-range keys) and
/// validates every range before anything is allocated.</summary>
public static class IpamRangeConfigParser
{
    public static IReadOnlyList<IpamRangeSet> Parse(JsonElement ipam)
    {
        var sets = new List<IpamRangeSet>();
        if (JsonMembers.Get(ipam, "ranges") is not { } array)
        {
            if (JsonMembers.Get(ipam, "subnet") is null) throw new IpamConfigException("ipam.ranges is required (e.g. [[{\"subnet\": \"10.244.1.0/24\"}]])");
            sets.Add(new IpamRangeSet([ParseRange(ipam, "ipam")]));
        }
        else
        {
            if (array.ValueKind != JsonValueKind.Array) throw new IpamConfigException("ipam.ranges must be an array of range sets");
            if (array.GetArrayLength() == 0) throw new IpamConfigException("ipam.ranges is empty");
            foreach (var (set, i) in JsonMembers.Indexed(array)) sets.Add(ParseSet(set, $"ipam.ranges[{i}]"));
        }
        RejectOverlaps(sets);
        return sets;
    }

    private static IpamRangeSet ParseSet(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array) throw new IpamConfigException($"{path} must be an array of ranges");
        if (array.GetArrayLength() == 0) throw new IpamConfigException($"{path} is empty");
        var ranges = new List<IpamRange>();
        foreach (var (item, j) in JsonMembers.Indexed(array))
        {
            if (item.ValueKind != JsonValueKind.Object) throw new IpamConfigException($"{path}[{j}] must be an object");
            var range = ParseRange(item, $"{path}[{j}]");
            if (ranges.Count > 0 && ranges[0].IsIPv6 != range.IsIPv6)
                throw new IpamConfigException($"{path}[{j}] mixes IPv4 and IPv6 in one range set");
            ranges.Add(range);
        }
        return new IpamRangeSet(ranges);
    }

    private static IpamRange ParseRange(JsonElement json, string path)
    {
        string subnetText = String(json, "subnet", path) ?? throw new IpamConfigException($"{path}.subnet is required");
        if (!Cidr.TryParseStrict(subnetText, out var subnet))
            throw new IpamConfigException($"{path}.subnet '{subnetText}' is not a CIDR with its host bits zero (like 10.244.1.0/24)");
        bool ipv6 = subnet.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
        var (first, last) = AddressMath.Bounds(subnet);
        // The network address is never handed out; in IPv4 neither is the broadcast address.
        UInt128 lowest = first + 1, highest = ipv6 ? last : last - 1;
        if (lowest > highest) throw new IpamConfigException($"{path}.subnet {subnet} is too small to hold any address");

        IPAddress gateway = Address(json, "gateway", path, subnet) ?? AddressMath.ToAddress(lowest, ipv6);
        UInt128 start = Address(json, "rangeStart", path, subnet) is { } s ? AddressMath.ToNumber(s) : lowest;
        UInt128 end = Address(json, "rangeEnd", path, subnet) is { } e ? AddressMath.ToNumber(e) : highest;
        start = UInt128.Max(start, lowest);
        end = UInt128.Min(end, highest);
        if (start > end) throw new IpamConfigException($"{path}.rangeStart is after rangeEnd in {subnet}");
        UInt128 gw = AddressMath.ToNumber(gateway);
        if (start == end && gw == start) throw new IpamConfigException($"{path} holds only its gateway {gateway}; no address is left to allocate");
        return new IpamRange(subnet, start, end, gateway);
    }

    private static IPAddress? Address(JsonElement json, string key, string path, IPNetwork subnet)
    {
        string? text = String(json, key, path);
        if (text == null) return null;
        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != subnet.BaseAddress.AddressFamily)
            throw new IpamConfigException($"{path}.{key} '{text}' is not an {(subnet.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} address");
        if (!subnet.Contains(address))
            throw new IpamConfigException($"{path}.{key} {address} is outside subnet {subnet}");
        return address;
    }

    private static string? String(JsonElement json, string key, string path) =>
        JsonMembers.Text(json, key, () => new IpamConfigException($"{path}.{key} must be a string"));

    private static void RejectOverlaps(List<IpamRangeSet> sets)
    {
        var all = sets.SelectMany((set, i) => set.Ranges.Select((r, j) => (Range: r, Path: $"ipam.ranges[{i}][{j}]"))).ToList();
        for (int a = 0; a < all.Count; a++)
            for (int b = a + 1; b < all.Count; b++)
                if (all[a].Range.Overlaps(all[b].Range))
                    throw new IpamConfigException($"{all[a].Path} ({all[a].Range}) and {all[b].Path} ({all[b].Range}) overlap");
    }
}
