using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace CniEgress.Net;

/// <summary>Addresses as 128-bit integers so IPv4 and IPv6 ranges share one arithmetic; a /64
/// is never enumerated, only stepped through from a position.</summary>
public static class AddressMath
{
    public static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static IPAddress ToAddress(UInt128 number, bool ipv6)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, number);
        return new IPAddress(ipv6 ? bytes : bytes[12..]);
    }

    public static (UInt128 First, UInt128 Last) Bounds(IPNetwork subnet)
    {
        bool ipv6 = subnet.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
        int hostBits = (ipv6 ? 128 : 32) - subnet.PrefixLength;
        UInt128 first = ToNumber(subnet.BaseAddress);
        UInt128 size = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        return (first, first + size);
    }
}
