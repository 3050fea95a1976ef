using System.Text.Json;
using CniEgress.CniPlugin.Agent;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Wiring;
using CniEgress.Net;
using CniEgress.Netlink.Nftables;
using CniEgress.Netlink.Route;
using CniEgress.State;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>ADD: addresses from IPAM, a routed veth into the pod, optional masquerade, a node
/// state record for the policy agent, then the result in the caller's version.</summary>
public static class AddCommand
{
    public static Action<Utf8JsonWriter> Execute(CniContext context)
    {
        var (env, config) = (context.Env, context.Config);
        using var podNamespace = NamespaceOpener.Open(env.NetnsPath);
        using var host = RouteNetlinkClient.Open();
        using var pod = podNamespace.RunOnCallingThread(RouteNetlinkClient.Open);
        using var undo = new UndoList();
        string hostName = HostInterfaceName.For(env.ContainerId, env.IfName);
        var record = NewRecord(context, hostName);

        if (!config.UsesBuiltinIpam)
        {
            // Written before exec'ing the delegate, so GC can release its address even if we are killed mid-ADD.
            context.Store.Write(record);
            undo.Add("state record", () => context.Store.Delete(env.ContainerId, env.IfName));
        }
        var ipam = context.Ipam();
        var ipamResult = ipam.Add();
        undo.Add("IPAM allocation", ipam.Del);
        var addresses = ipamResult.Ips.Select(ip => InterfaceAddress.Host(ip.Address.Address)).ToList();
        context.Store.Write(record with { Addresses = addresses.Select(a => a.ToString()).ToList() });
        undo.Add("state record", () => context.Store.Delete(env.ContainerId, env.IfName));
        // The agent puts the pod's policy into the kernel while we wire it; its answer is awaited below.
        using var handshake = AgentHandshake.Begin(config, env.ContainerId, env.IfName);

        PodWiring.Disconnect(host, hostName); // leftover of an interrupted ADD of this attachment
        var attachment = new PodAttachment(hostName, env.IfName, LinkAddresses.PodMac(env.ContainerId, env.IfName), ChooseMtu(config.Mtu, host), addresses);
        new PodWiring(host, pod, podNamespace).Connect(attachment);
        undo.Add("veth " + hostName, () => PodWiring.Disconnect(host, hostName));

        if (config.IpMasq)
        {
            using var nft = NftablesNetlinkClient.Open();
            var masquerade = new Masquerade(config.StateDir, nft);
            masquerade.EnsureTable(config.ClusterCidrs.Count > 0 ? config.ClusterCidrs : ipamResult.Ips.Select(ip => ip.Address.Network).Distinct().ToList());
            masquerade.Add(addresses);
        }

        // Last: the pod's policy is in the kernel before the runtime may start the container.
        handshake.Complete();

        undo.Commit();
        var result = BuildResult(context, attachment, ipamResult);
        return json => CniResultJson.Write(json, result, config.Version);
    }

    private static AttachmentRecord NewRecord(CniContext context, string hostName) => new()
    {
        ContainerId = context.Env.ContainerId,
        IfName = context.Env.IfName,
        Network = context.Config.Name,
        NetnsPath = context.Env.NetnsPath,
        HostInterface = hostName,
        PodNamespace = context.Env.Args.PodNamespace,
        PodName = context.Env.Args.PodName,
        PodUid = context.Env.Args.PodUid,
        IpamType = context.Config.IpamType,
        Masquerade = context.Config.IpMasq,
        Created = DateTimeOffset.UtcNow,
    };

    /// <summary>Config wins; else the MTU of the host's default-route link (this machine's eth0
    /// is 1400, and a 1500 pod MTU there would black-hole large packets); else 1500.</summary>
    private static int ChooseMtu(int? configured, RouteNetlinkClient host) =>
        configured
        ?? host.DefaultRouteLink(System.Net.Sockets.AddressFamily.InterNetwork)?.Mtu
        ?? host.DefaultRouteLink(System.Net.Sockets.AddressFamily.InterNetworkV6)?.Mtu
        ?? 1500;

    private static CniResult BuildResult(CniContext context, PodAttachment attachment, CniResult ipamResult)
    {
        var previous = context.Config.PrevResult ?? CniResult.Empty;
        int hostIndex = previous.Interfaces.Count;
        var interfaces = previous.Interfaces.Concat([
            new CniInterface(attachment.HostName, LinkAddresses.Format(LinkAddresses.HostMac), null),
            new CniInterface(attachment.PodIfName, LinkAddresses.Format(attachment.PodMac), context.Env.NetnsPath, attachment.Mtu),
        ]).ToList();
        var ips = previous.Ips.Concat(attachment.Addresses.Select(a => new CniIpConfig(a, LinkAddresses.GatewayFor(a.Address), hostIndex + 1))).ToList();
        var routes = new List<CniRoute>(previous.Routes);
        foreach (var gateway in PodWiring.Gateways(attachment.Addresses))
            routes.Add(new CniRoute(PodWiring.DefaultRoute(gateway), gateway));
        var dns = JsonMembers.Get(context.Config.Raw, "dns") is { ValueKind: JsonValueKind.Object } own ? own : ipamResult.Dns ?? previous.Dns;
        return new CniResult(interfaces, ips, routes, dns);
    }
}
