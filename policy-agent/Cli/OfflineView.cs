using CniEgress.PolicyAgent.Agent;
using CniEgress.PolicyAgent.Diagnostics;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.PolicyAgent.Sources;
using CniEgress.State;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>The node seen without the agent: the CLI compiles the manifests itself (the same
/// compiler, never writing to the kernel), or, with no manifests, takes what the kernel holds.</summary>
public static class OfflineView
{
    public static NodeView From(string? manifests, string stateDir, string why)
    {
        var local = new LocalAttachments(new AttachmentStore(stateDir)).Read();
        var reconciler = new Reconciler(null, _ => { });
        if (manifests != null)
        {
            if (!Directory.Exists(manifests)) throw new QueryException($"no manifest folder {manifests}");
            using var source = new ManifestSource(manifests);
            reconciler.Apply(source.Read(new List<string>()), local);
            return new NodeView(reconciler.Compilation, reconciler.Desired!, $"offline: {why}; compiled here from manifests {manifests}", null);
        }
        // No policies to read: isolation and allowed traffic as the kernel holds them, without policy names.
        reconciler.Apply(new ClusterObjects(new Dictionary<string, NamespaceState>(), new Dictionary<string, PodState>(), new Dictionary<string, k8s.Models.V1NetworkPolicy>()), local);
        var kernel = new NftCommand("nft").ReadTable();
        var desired = kernel?.ToDataplane() ?? reconciler.Desired!;
        return new NodeView(reconciler.Compilation, desired, $"offline: {why}; from the kernel only (give --manifests DIR for policy names)", null);
    }
}
