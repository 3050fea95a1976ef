using CniEgress.Net;
using System.Net;
using System.Net.Sockets;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>One allocatable range: [Start, End] inside Subnet, never handing out the gateway.</summary>
public sealed record IpamRange(IPNetwork Subnet, UInt128 Start, UInt128 End, IPAddress Gateway)
{
    public bool IsIPv6 => Subnet.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;

    public bool Contains(UInt128 address) => address >= Start && address <= End;

    public bool Overlaps(IpamRange other) => IsIPv6 == other.IsIPv6 && Start <= other.End && other.Start <= End;

    public override string ToString() =>
        $"{AddressMath.ToAddress(Start, IsIPv6)}-{AddressMath.ToAddress(End, IsIPv6)} in {Subnet}";
}

/// <summary>The ranges one address is drawn from (host-local's "range set"); dual-stack is two sets.</summary>
public sealed record IpamRangeSet(IReadOnlyList<IpamRange> Ranges)
{
    public bool IsIPv6 => Ranges[0].IsIPv6;

    public bool Contains(IPAddress address)
    {
        if ((address.AddressFamily == AddressFamily.InterNetworkV6) != IsIPv6) return false;
        UInt128 number = AddressMath.ToNumber(address);
        return Ranges.Any(r => r.Contains(number) && !address.Equals(r.Gateway));
    }

    public override string ToString() => string.Join(", ", Ranges);
}
