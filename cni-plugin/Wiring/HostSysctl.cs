using System.Text;
using CniEgress.Files;

namespace CniEgress.CniPlugin.Wiring;

/// <summary>Sysctls of the host (our own) network namespace, read before written so the common
/// case costs one read.</summary>
public static class HostSysctl
{
    public static void EnsureForwarding(bool ipv4, bool ipv6)
    {
        if (ipv4) Ensure("net/ipv4/ip_forward", "1");
        if (ipv6) Ensure("net/ipv6/conf/all/forwarding", "1");
    }

    public static void Write(string relativePath, string value) =>
        SmallFile.Write(Path.Combine("/proc/sys", relativePath), Encoding.ASCII.GetBytes(value));

    private static void Ensure(string relativePath, string value)
    {
        string path = Path.Combine("/proc/sys", relativePath);
        if (Encoding.ASCII.GetString(SmallFile.TryReadAll(path) ?? []).Trim() != value) Write(relativePath, value);
    }
}
