using System.IO.Hashing;
using System.Text;

namespace CniEgress.CniPlugin.Wiring;

/// <summary>Host-side veth names: "ceg" + 12 hex digits of XxHash3(containerID/ifname) = 15
/// characters (IFNAMSIZ-1). Deterministic, so DEL and GC find the link without any state, and
/// one prefix lets the policy agent match every pod interface with a single wildcard. A managed
/// non-cryptographic hash: SHA-256 would load OpenSSL, milliseconds of every ADD's budget.</summary>
public static class HostInterfaceName
{
    public const string Prefix = "ceg";

    public static string For(string containerId, string ifName)
    {
        Span<byte> hash = stackalloc byte[8];
        XxHash3.Hash(Encoding.UTF8.GetBytes($"{containerId}/{ifName}"), hash);
        return Prefix + Convert.ToHexStringLower(hash[..6]);
    }

    public static bool IsOurs(string linkName) =>
        linkName.Length == Prefix.Length + 12 && linkName.StartsWith(Prefix, StringComparison.Ordinal);
}
