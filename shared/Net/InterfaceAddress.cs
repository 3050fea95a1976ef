using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CniEgress.Net;

/// <summary>An address as configured on an interface: "10.1.0.5/24" keeps its host bits,
/// which <see cref="IPNetwork"/> would reject.</summary>
public readonly record struct InterfaceAddress(IPAddress Address, int PrefixLength) : ISpanFormattable
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

    public override string ToString()
    {
        Span<char> text = stackalloc char[64]; // the longest IPv6 address with a scope and "/128" fits
        if (!TryFormat(text, out int length, default, null)) throw new UnreachableException("an address with its prefix took more than 64 characters");
        return new string(text[..length]);
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>Formats straight into an interpolated string's buffer. A hole whose ToString ran an
    /// interpolation of its own would hold two of the shared ArrayPool's buffers at once, and the
    /// second one returned spills into its per-core stacks, whose first use calibrates processor-id
    /// reads: ~0.27 ms of every CNI call on this VM.</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (!Address.TryFormat(destination, out int written) || written >= destination.Length) return false;
        destination[written++] = '/';
        if (!PrefixLength.TryFormat(destination[written..], out int digits, default, CultureInfo.InvariantCulture)) return false;
        charsWritten = written + digits;
        return true;
    }

    public static IPAddress MaskHostBits(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int bit = prefixLength; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }
}
