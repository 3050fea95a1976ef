using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;
using CniEgress.CniPlugin.Wiring;
using CniEgress.Files;
using CniEgress.Net;
using CniEgress.Netlink.Nftables;
using CniEgress.Netlink.Route;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>GC (1.1.0): everything of this network that belongs to no attachment in
/// cni.dev/valid-attachments goes: host links, masquerade elements, addresses, records.
/// That covers what a killed ADD left behind: ADD writes its record before it creates a link,
/// and DEL removes the record last, so no link of ours exists without a record. Links are
/// never swept by prefix alone: another network (or stateDir) may own them.</summary>
public static class GcCommand
{
    public static void Execute(CniContext context)
    {
        var config = context.Config;
        VersionGate.Require(config.Version, CniVersion.V1_1_0, "GC");
        var valid = (config.ValidAttachments ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "GC needs cni.dev/valid-attachments"))
            .ToHashSet();

        var unreadable = new List<string>();
        var records = context.Store.List(unreadable);
        var stale = records.Where(r => r.Network == config.Name && !valid.Contains(new AttachmentKey(r.ContainerId, r.IfName))).ToList();
        using (var host = RouteNetlinkClient.Open())
        {
            foreach (var record in stale) PodWiring.Disconnect(host, record.HostInterface);
        }
        if (config.IpMasq)
        {
            using var nft = NftablesNetlinkClient.Open();
            new Masquerade(config.StateDir, nft).Remove(stale.SelectMany(r => r.Addresses).Select(InterfaceAddress.Parse).ToList());
        }
        context.Ipam().CollectGarbage(valid, stale);
        foreach (var record in stale) context.Store.Delete(record.ContainerId, record.IfName);
        foreach (string file in unreadable) AtomicFile.TryDelete(file);
    }
}
