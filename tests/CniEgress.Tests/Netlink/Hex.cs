namespace CniEgress.Tests.Netlink;

/// <summary>Byte strings written the way a packet dump reads: "28 00 00 00 | 14 00 …".</summary>
internal static class Hex
{
    public static byte[] Parse(string text) =>
        Convert.FromHexString(new string(text.Where(Uri.IsHexDigit).ToArray()));

    public static string Format(ReadOnlySpan<byte> bytes) =>
        string.Join(' ', bytes.ToArray().Select(b => b.ToString("x2")));
}
