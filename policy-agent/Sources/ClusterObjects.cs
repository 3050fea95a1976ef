using System.Net;
using CniEgress.PolicyAgent.Policy;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>What a source (the API server or a manifest folder) says about the cluster, keyed so
/// that two readings can be compared object by object.</summary>
public sealed record ClusterObjects(
    IReadOnlyDictionary<string, NamespaceState> Namespaces,
    IReadOnlyDictionary<string, PodState> Pods,
    IReadOnlyDictionary<string, V1NetworkPolicy> Policies)
{
    public static readonly ClusterObjects Empty = new(new Dictionary<string, NamespaceState>(), new Dictionary<string, PodState>(), new Dictionary<string, V1NetworkPolicy>());

    public static string Key(string ns, string name) => $"{ns}/{name}";
}

/// <summary>The objects that changed since the previous reading, by key, with their state now
/// (null: deleted).</summary>
public sealed record ClusterChanges(
    IReadOnlyList<KeyValuePair<string, NamespaceState?>> Namespaces,
    IReadOnlyList<KeyValuePair<string, PodState?>> Pods,
    IReadOnlyList<KeyValuePair<string, V1NetworkPolicy?>> Policies);

/// <summary>A node as routing needs it: its InternalIP addresses and the pod CIDRs it owns.</summary>
public sealed record NodeState(string Name, IReadOnlyList<IPAddress> InternalIPs, IReadOnlyList<IPNetwork> PodCidrs)
{
    public bool SameAs(NodeState other) =>
        Name == other.Name && InternalIPs.SequenceEqual(other.InternalIPs) && PodCidrs.SequenceEqual(other.PodCidrs);

    /// <summary>Whether two readings of the nodes hold the same routing facts (then the older
    /// dictionary is kept, so the main loop can tell "no change" by reference).</summary>
    public static bool Same(IReadOnlyDictionary<string, NodeState> a, IReadOnlyDictionary<string, NodeState> b) =>
        a.Count == b.Count && a.All(n => b.TryGetValue(n.Key, out var other) && other.SameAs(n.Value));
}

/// <summary>Kubernetes objects reduced to the fields the compiler reads, so memory stays bounded.</summary>
public static class ObjectConversion
{
    /// <summary>status.addresses of type InternalIP; spec.podCIDRs (spec.podCIDR for old servers).
    /// Unparsable entries are left out: a node without them gets no route.</summary>
    public static NodeState Node(V1Node node)
    {
        var internalIPs = (node.Status?.Addresses ?? []).Where(a => a.Type == "InternalIP")
            .Select(a => IPAddress.TryParse(a.Address, out var ip) ? ip : null).OfType<IPAddress>().ToArray();
        var cidrs = (node.Spec?.PodCIDRs ?? (node.Spec?.PodCIDR is { } single ? [single] : []))
            .Select(c => CniEgress.Net.InterfaceAddress.TryParse(c, out var cidr) ? cidr.Network : (IPNetwork?)null).OfType<IPNetwork>().ToArray();
        return new NodeState(node.Metadata?.Name ?? "", internalIPs, cidrs);
    }

    public static NamespaceState Namespace(V1Namespace ns) =>
        new(string.Intern(ns.Metadata?.Name ?? ""), Labels(ns.Metadata?.Labels, ns.Metadata?.Name));

    /// <summary>A pod's addresses are status.podIPs (status.podIP for old servers); container ports with their names.
    /// A pod that does not hold its addresses as its own gets none, so no selector opens them:
    /// a hostNetwork pod reports the node's addresses (upstream: a plugin that cannot tell its
    /// traffic from the node's ignores such pods when matching selectors), and a finished pod's
    /// addresses went back to IPAM and may already belong to another pod.</summary>
    public static PodState Pod(V1Pod pod)
    {
        bool ownsAddresses = pod.Spec?.HostNetwork != true && pod.Status?.Phase is not ("Succeeded" or "Failed");
        var reported = pod.Status?.PodIPs?.Select(p => p.Ip) ?? (pod.Status?.PodIP is { } single ? [single] : []);
        var addresses = ownsAddresses
            ? reported.Select(ip => IPAddress.TryParse(ip, out var a) ? a : null).OfType<IPAddress>().ToArray()
            : [];
        var ports = (pod.Spec?.Containers ?? []).SelectMany(c => c.Ports ?? [])
            .Select(p => new ContainerPortState(p.Name is { } name ? string.Intern(name) : null, p.ContainerPort, string.Intern(p.Protocol ?? "TCP"))).ToArray();
        // Namespace names, port names and label sets repeat across pods: one copy each. Namespace
        // and port names are few, so the runtime's intern table holds them for good.
        return new PodState(string.Intern(pod.Metadata?.NamespaceProperty ?? "default"), pod.Metadata?.Name ?? "",
            LabelInterner.Shared.Intern(pod.Metadata?.Labels), addresses, ports.Length == 0 ? [] : ports);
    }

    /// <summary>The API server labels every namespace with kubernetes.io/metadata.name; manifests may not.</summary>
    private static IReadOnlyDictionary<string, string> Labels(IDictionary<string, string>? labels, string? name)
    {
        var copy = labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(labels);
        if (name != null) copy.TryAdd("kubernetes.io/metadata.name", name);
        return LabelInterner.Shared.Intern(copy);
    }
}
