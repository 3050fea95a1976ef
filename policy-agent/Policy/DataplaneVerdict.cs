using System.Net;
using System.Net.Sockets;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Evaluates a packet against a compiled dataplane in process, exactly as the nftables
/// rules do: anti-spoofing, then unisolated pods pass, then the class's two lookups.</summary>
public static class DataplaneVerdict
{
    public static bool Allows(DesiredDataplane dataplane, string hostInterface, IPAddress source, IPAddress destination, byte protocol, int port)
    {
        if (!SourcePermitted(dataplane, hostInterface, source)) return false;
        if (!dataplane.ClassOfInterface.TryGetValue(hostInterface, out var id)) return true;
        var egress = dataplane.Classes[id];
        if (egress.AnyTraffic.Any(r => r.Contains(destination))) return true;
        return egress.Ports.Any(b => b.Contains(destination, protocol, port));
    }

    /// <summary>The anti-spoofing step: an interface with known sources may only use those.</summary>
    public static bool SourcePermitted(DesiredDataplane dataplane, string hostInterface, IPAddress source)
    {
        var mine = dataplane.PodSources.Where(s => s.HostInterface == hostInterface).ToList();
        return mine.Count == 0 || mine.Any(s => s.Address.Equals(source));
    }

    public static bool IsIPv6(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6;
}
