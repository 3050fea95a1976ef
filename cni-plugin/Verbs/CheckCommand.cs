using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Wiring;
using CniEgress.Net;
using CniEgress.Netlink.Route;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>CHECK (SPEC.md, 0.4.0+): the attachment still looks like prevResult says. CRI-O
/// calls this right after every ADD, so it only reads: two link lookups and two dumps.</summary>
public static class CheckCommand
{
    public static void Execute(CniContext context)
    {
        var (env, config) = (context.Env, context.Config);
        VersionGate.Require(config.Version, CniVersion.V0_4_0, "CHECK");
        var previous = config.PrevResult ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "CHECK needs prevResult (the result of ADD)");
        int podIndexInResult = previous.Interfaces.ToList().FindIndex(i => i.Name == env.IfName && !string.IsNullOrEmpty(i.Sandbox));
        var expected = previous.Ips
            .Where(ip => ip.InterfaceIndex == null || ip.InterfaceIndex == podIndexInResult)
            .Select(ip => ip.Address).ToList();

        using var podNamespace = NamespaceOpener.Open(env.NetnsPath);
        using var pod = podNamespace.RunOnCallingThread(RouteNetlinkClient.Open);
        var podLink = pod.FindLink(env.IfName) ?? throw Mismatch($"interface {env.IfName} is missing from {env.NetnsPath}");
        if (!podLink.IsUp) throw Mismatch($"interface {env.IfName} is down");
        var present = pod.ListAddresses(podLink.Index).ToHashSet();
        foreach (var address in expected.Where(a => !present.Contains(a)))
            throw Mismatch($"address {address} is missing from {env.IfName}");
        foreach (var family in expected.Select(a => a.Address.AddressFamily).Distinct())
        {
            var gateway = LinkAddresses.GatewayFor(expected.First(a => a.Address.AddressFamily == family).Address);
            bool hasDefault = pod.ListRoutes(family, outputInterface: podLink.Index).Any(r => r.Destination.PrefixLength == 0 && gateway.Equals(r.Gateway));
            if (!hasDefault) throw Mismatch($"default route via {gateway} dev {env.IfName} is missing");
        }

        using var host = RouteNetlinkClient.Open();
        string hostName = HostInterfaceName.For(env.ContainerId, env.IfName);
        var hostLink = host.FindLink(hostName) ?? throw Mismatch($"host interface {hostName} is missing");
        foreach (var family in expected.Select(a => a.Address.AddressFamily).Distinct())
        {
            var routes = host.ListRoutes(family, outputInterface: hostLink.Index).Select(r => r.Destination).ToHashSet();
            foreach (var address in expected.Where(a => a.Address.AddressFamily == family))
                if (!routes.Contains(InterfaceAddress.Host(address.Address).Network))
                    throw Mismatch($"host route to {address.Address} via {hostName} is missing");
        }
    }

    private static CniException Mismatch(string message) => new(CniErrorCode.CheckMismatch, message);
}
