using CniEgress.CniPlugin.Agent;
using CniEgress.CniPlugin.Wiring;
using CniEgress.Net;
using CniEgress.Netlink.Nftables;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>DEL is best effort and idempotent (SPEC.md "DEL"): it succeeds with the netns gone
/// or CNI_NETNS empty, without prevResult, twice, or after an ADD that never ran. It never needs
/// the pod's namespace: deleting the host end removes the pair, its routes and neighbours.
/// The link goes while this thread releases the address and state (deleted by the agent, or by
/// the plugin on its own thread: see <see cref="HostLinkDeletion"/>); DEL returns when both are
/// done. Releasing the address first is safe: an ADD that reuses it replaces the host route.</summary>
public static class DelCommand
{
    public static void Execute(CniContext context)
    {
        var (env, config) = (context.Env, context.Config);
        using var unwiring = HostLinkDeletion.Start(config, HostInterfaceName.For(env.ContainerId, env.IfName));
        var record = context.Store.Read(env.ContainerId, env.IfName);

        if (config.IpMasq)
        {
            var addresses = record?.Addresses.Select(InterfaceAddress.Parse)
                ?? config.PrevResult?.Ips.Select(ip => InterfaceAddress.Host(ip.Address.Address))
                ?? [];
            using var nft = NftablesNetlinkClient.Open();
            new Masquerade(config.StateDir, nft).Remove(addresses.ToList());
        }
        context.Ipam().Del();
        unwiring.Wait();
        context.Store.Delete(env.ContainerId, env.IfName);
    }
}
