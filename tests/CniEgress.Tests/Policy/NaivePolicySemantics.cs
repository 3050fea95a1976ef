using System.Net;
using System.Net.Sockets;
using CniEgress.PolicyAgent.Policy;
using k8s.Models;

namespace CniEgress.Tests.Policy;

/// <summary>A deliberately naive reading of the NetworkPolicy egress and ingress semantics,
/// written straight from the Kubernetes documentation, for one packet at a time. It shares no matching code with
/// the compiler (its own selectors, CIDR test and port rules), so the property test that compares
/// the two catches a mistake in either.</summary>
public static class NaivePolicySemantics
{
    public static bool Allows(ClusterSnapshot snapshot, LocalPod from, IPAddress source, IPAddress destination, string protocol, int port)
    {
        if (!from.Addresses.Contains(source)) return false; // a forged source never passes
        var pod = snapshot.Pods.FirstOrDefault(p => p.Namespace == from.Namespace && p.Name == from.Name);
        var inNamespace = snapshot.Policies.Where(p => (p.Metadata.NamespaceProperty ?? "default") == from.Namespace && IsolatesEgress(p)).ToList();
        if (pod == null) return inNamespace.Count == 0; // labels unknown: isolated by any egress policy there
        var selecting = inNamespace.Where(p => SelectorMatchesOrInvalid(p.Spec.PodSelector, pod.Labels)).ToList();
        if (selecting.Count == 0) return true;
        foreach (var policy in selecting)
            foreach (var rule in policy.Spec.Egress ?? [])
                if (PeersAllow(snapshot, policy, rule.To, destination)
                    && PortsAllow(rule.Ports, snapshot.Pods.FirstOrDefault(p => p.Addresses.Contains(destination)), protocol, port))
                    return true;
        return false;
    }

    /// <summary>Whether a packet from <paramref name="source"/> may open a connection to a local
    /// pod: its ingress policies' `from` peers and ports (named ports: the pod's own).</summary>
    public static bool AllowsIngress(ClusterSnapshot snapshot, LocalPod to, IPAddress source, string protocol, int port)
    {
        var pod = snapshot.Pods.FirstOrDefault(p => p.Namespace == to.Namespace && p.Name == to.Name);
        var inNamespace = snapshot.Policies.Where(p => (p.Metadata.NamespaceProperty ?? "default") == to.Namespace && IsolatesIngress(p)).ToList();
        if (pod == null) return inNamespace.Count == 0;
        var selecting = inNamespace.Where(p => SelectorMatchesOrInvalid(p.Spec.PodSelector, pod.Labels)).ToList();
        if (selecting.Count == 0) return true;
        foreach (var policy in selecting)
            foreach (var rule in policy.Spec.Ingress ?? [])
                if (PeersAllow(snapshot, policy, rule.FromProperty, source) && PortsAllow(rule.Ports, pod, protocol, port))
                    return true;
        return false;
    }

    private static bool IsolatesIngress(V1NetworkPolicy policy) =>
        policy.Spec.PolicyTypes is not { Count: > 0 } types || types.Contains("Ingress");

    private static bool IsolatesEgress(V1NetworkPolicy policy)
    {
        var types = policy.Spec.PolicyTypes;
        if (types != null && types.Count > 0) return types.Contains("Egress");
        return policy.Spec.Egress != null && policy.Spec.Egress.Count > 0;
    }

    /// <summary>`to` of an egress rule or `from` of an ingress one, for the far end's address.</summary>
    private static bool PeersAllow(ClusterSnapshot snapshot, V1NetworkPolicy policy, IList<V1NetworkPolicyPeer>? peers, IPAddress destination)
    {
        if (peers == null || peers.Count == 0) return true;
        foreach (var peer in peers)
        {
            if (peer.IpBlock != null)
            {
                if (peer.PodSelector != null || peer.NamespaceSelector != null) continue; // invalid peer
                if (IpBlockAllows(peer.IpBlock, destination)) return true;
                continue;
            }
            if (peer.PodSelector == null && peer.NamespaceSelector == null) continue;
            if (!SelectorValid(peer.PodSelector) || !SelectorValid(peer.NamespaceSelector)) continue;
            var target = snapshot.Pods.FirstOrDefault(p => p.Addresses.Contains(destination));
            if (target == null) continue;
            bool namespaceOk;
            if (peer.NamespaceSelector == null)
            {
                namespaceOk = target.Namespace == (policy.Metadata.NamespaceProperty ?? "default");
            }
            else
            {
                var ns = snapshot.Namespaces.FirstOrDefault(n => n.Name == target.Namespace);
                namespaceOk = ns != null && SelectorMatches(peer.NamespaceSelector, ns.Labels);
            }
            bool podOk = peer.PodSelector == null || SelectorMatches(peer.PodSelector, target.Labels);
            if (namespaceOk && podOk) return true;
        }
        return false;
    }

    private static bool IpBlockAllows(V1IPBlock block, IPAddress destination)
    {
        if (!TryParseCidr(block.Cidr, out var network, out int prefix)) return false;
        var excepts = new List<(IPAddress, int)>();
        foreach (string text in block.Except ?? [])
        {
            if (!TryParseCidr(text, out var e, out int ep)) return false;
            // An except must lie strictly inside the cidr; otherwise the whole block is invalid.
            if (ep <= prefix || e.AddressFamily != network.AddressFamily || !InCidr(e, network, prefix)) return false;
            excepts.Add((e, ep));
        }
        return InCidr(destination, network, prefix) && !excepts.Any(x => InCidr(destination, x.Item1, x.Item2));
    }

    /// <summary>A rule's ports; a named port means a port of <paramref name="owner"/> (the egress
    /// destination pod, or the ingress pod itself).</summary>
    private static bool PortsAllow(IList<V1NetworkPolicyPort>? ports, PodState? owner, string protocol, int port)
    {
        if (ports == null || ports.Count == 0) return true;
        foreach (var entry in ports)
        {
            string wanted = entry.Protocol ?? "TCP";
            if (wanted is not ("TCP" or "UDP" or "SCTP")) continue; // invalid entry
            string? value = entry.Port is { } p ? (string)p : null;
            if (value == null)
            {
                if (entry.EndPort != null) continue;
                if (wanted == protocol) return true;
                continue;
            }
            if (int.TryParse(value, out int number))
            {
                if (number < 1 || number > 65535) continue;
                int end = entry.EndPort ?? number;
                if (end < number || end > 65535) continue;
                if (wanted == protocol && port >= number && port <= end) return true;
                continue;
            }
            if (entry.EndPort != null) continue;
            if (owner != null && wanted == protocol && owner.Ports.Any(cp => cp.Name == value && cp.Protocol == protocol && cp.Port == port))
                return true;
        }
        return false;
    }

    private static bool SelectorMatchesOrInvalid(V1LabelSelector? selector, IReadOnlyDictionary<string, string> labels) =>
        !SelectorValid(selector) || SelectorMatches(selector!, labels);

    private static bool SelectorValid(V1LabelSelector? selector)
    {
        if (selector == null) return true;
        foreach (var e in selector.MatchExpressions ?? [])
        {
            int n = e.Values?.Count ?? 0;
            bool ok = e.OperatorProperty switch { "In" or "NotIn" => n > 0, "Exists" or "DoesNotExist" => n == 0, _ => false };
            if (!ok || string.IsNullOrEmpty(e.Key)) return false;
        }
        return true;
    }

    private static bool SelectorMatches(V1LabelSelector selector, IReadOnlyDictionary<string, string> labels)
    {
        foreach (var pair in selector.MatchLabels ?? new Dictionary<string, string>())
            if (!labels.TryGetValue(pair.Key, out var v) || v != pair.Value) return false;
        foreach (var e in selector.MatchExpressions ?? [])
        {
            bool has = labels.TryGetValue(e.Key, out var v);
            bool ok = e.OperatorProperty switch
            {
                "In" => has && e.Values!.Contains(v!),
                "NotIn" => !has || !e.Values!.Contains(v!),
                "Exists" => has,
                _ => !has,
            };
            if (!ok) return false;
        }
        return true;
    }

    private static bool TryParseCidr(string? text, out IPAddress network, out int prefix)
    {
        network = IPAddress.None;
        prefix = 0;
        var parts = (text ?? "").Split('/');
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var address) || !int.TryParse(parts[1], out prefix)) return false;
        int bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefix < 0 || prefix > bits) return false;
        network = address;
        return true;
    }

    /// <summary>Bit by bit, the way the definition of a CIDR block reads.</summary>
    private static bool InCidr(IPAddress address, IPAddress network, int prefix)
    {
        if (address.AddressFamily != network.AddressFamily) return false;
        byte[] a = address.GetAddressBytes(), n = network.GetAddressBytes();
        for (int bit = 0; bit < prefix; bit++)
        {
            int mask = 0x80 >> (bit % 8);
            if ((a[bit / 8] & mask) != (n[bit / 8] & mask)) return false;
        }
        return true;
    }
}
