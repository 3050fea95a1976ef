using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CniEgress.Net;

/// <summary>An address as configured on an interface: "10.1.0.5/24" keeps its host bits,
/// which <see cref="IPNetwork"/> would reject.</summary>
public readonly record struct InterfaceAddress(IPAddress Address, int PrefixLength)
{
    public bool IsIPv6 => Address.AddressFamily == AddressFamily.InterNetworkV6;

    public int MaxPrefixLength => IsIPv6 ? 128 : 32;

    public IPNetwork Network => new(MaskHostBits(Address, PrefixLength), PrefixLength);

    public static InterfaceAddress Host(IPAddress address) =>
        new(address, address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);

    public static bool TryParse(string? text, out InterfaceAddress result)
    {
        result = default;
        if (string.IsNullOrEmpty(text)) return false;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return false;
        if (!IPAddress.TryParse(text.AsSpan(0, slash), out var address)) return false;
        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length)) return false;
        int max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (length > max || (max == 128 && address.ScopeId != 0)) return false;
        result = new InterfaceAddress(address, length);
        return true;
    }

    public static InterfaceAddress Parse(string text) =>
        TryParse(text, out var result) ? result : throw new FormatException($"'{text}' is not an address with a prefix length (like 10.1.0.5/24)");

    public override string ToString() => $"{Address}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    public static IPAddress MaskHostBits(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int bit = prefixLength; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }
}
