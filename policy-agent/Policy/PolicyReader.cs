using System.Globalization;
using CniEgress.Net;
using k8s.Models;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Turns a V1NetworkPolicy into a <see cref="PolicySide"/> per direction, validating as the API
/// server does. Each invalid part is reported (with its field path) and dropped in a way that
/// allows nothing; it never throws.</summary>
public static class PolicyReader
{
    /// <summary>What both sides of a policy start from: its key, namespace, spec, the problem
    /// reporter and the compiled podSelector (null when invalid: every pod of the namespace).</summary>
    private sealed record Common(string Key, string Namespace, V1NetworkPolicySpec Spec, Action<PolicyFieldException> Report, LabelSelectorMatcher? PodSelector);

    private static Common Begin(V1NetworkPolicy policy, ICollection<PolicyProblem> problems)
    {
        string ns = policy.Metadata?.NamespaceProperty ?? "default";
        string key = $"{ns}/{policy.Metadata?.Name}";
        void Report(PolicyFieldException e) => problems.Add(new PolicyProblem(key, e.Field, e.Problem));
        var spec = policy.Spec ?? new V1NetworkPolicySpec();
        LabelSelectorMatcher? podSelector = null;
        try { podSelector = LabelSelectorMatcher.Compile(spec.PodSelector ?? new V1LabelSelector(), "spec.podSelector"); }
        catch (PolicyFieldException e) { Report(e); }
        return new(key, ns, spec, Report, podSelector);
    }

    /// <summary>One side of <paramref name="policy"/>. An unknown policyType is reported and
    /// isolates both sides (fail closed: the author meant to isolate something); the problems of
    /// the fields both sides share (podSelector, policyTypes) are reported by either read.</summary>
    public static PolicySide Read(V1NetworkPolicy policy, Direction direction, ICollection<PolicyProblem> problems)
    {
        var (key, ns, spec, report, podSelector) = Begin(policy, problems);

        bool isolates;
        var unknownTypes = (spec.PolicyTypes ?? []).Where(t => t is not ("Ingress" or "Egress")).ToList();
        if (unknownTypes.Count > 0)
        {
            report(new PolicyFieldException("spec.policyTypes", $"unknown type '{unknownTypes[0]}' (Ingress, Egress)"));
            isolates = true;
        }
        else
        {
            isolates = direction == Direction.Egress ? EffectivePolicyTypes.IsolatesEgress(spec) : EffectivePolicyTypes.IsolatesIngress(spec);
        }

        var rules = new List<PolicyRule>();
        if (direction == Direction.Egress)
            for (int r = 0; r < (spec.Egress?.Count ?? 0); r++)
                rules.Add(ReadRule(spec.Egress![r].To, spec.Egress[r].Ports, "to", ns, $"spec.egress[{r}]", report));
        else
            for (int r = 0; r < (spec.Ingress?.Count ?? 0); r++)
                rules.Add(ReadRule(spec.Ingress![r].FromProperty, spec.Ingress[r].Ports, "from", ns, $"spec.ingress[{r}]", report));
        return new PolicySide(direction, key, ns, podSelector, isolates, rules);
    }

    private static PolicyRule ReadRule(IList<V1NetworkPolicyPeer>? peers, IList<V1NetworkPolicyPort>? rulePorts, string peerField, string ns, string path, Action<PolicyFieldException> report)
    {
        List<PolicyPeer>? to = null;
        if (peers is { Count: > 0 })
        {
            to = [];
            for (int i = 0; i < peers.Count; i++)
            {
                try { to.Add(ReadPeer(peers[i], ns, $"{path}.{peerField}[{i}]")); }
                catch (PolicyFieldException e) { report(e); }
            }
        }
        List<PolicyPort>? ports = null;
        if (rulePorts is { Count: > 0 })
        {
            ports = [];
            for (int i = 0; i < rulePorts.Count; i++)
            {
                try { ports.Add(ReadPort(rulePorts[i], $"{path}.ports[{i}]")); }
                catch (PolicyFieldException e) { report(e); }
            }
        }
        return new PolicyRule(to, ports);
    }

    private static PolicyPeer ReadPeer(V1NetworkPolicyPeer peer, string ns, string path)
    {
        bool hasSelectors = peer.PodSelector != null || peer.NamespaceSelector != null;
        if (peer.IpBlock != null && hasSelectors)
            throw new PolicyFieldException(path, "ipBlock cannot be combined with podSelector or namespaceSelector");
        if (peer.IpBlock != null) return ReadIpBlock(peer.IpBlock, path + ".ipBlock");
        if (!hasSelectors) throw new PolicyFieldException(path, "a peer needs podSelector, namespaceSelector or ipBlock");
        return new SelectorPeer(
            peer.PodSelector == null ? null : LabelSelectorMatcher.Compile(peer.PodSelector, path + ".podSelector"),
            peer.NamespaceSelector == null ? null : LabelSelectorMatcher.Compile(peer.NamespaceSelector, path + ".namespaceSelector"),
            ns);
    }

    private static IpBlockPeer ReadIpBlock(V1IPBlock block, string path)
    {
        // The API server accepts host bits in ipBlock CIDRs and uses the masked network.
        if (!InterfaceAddress.TryParse(block.Cidr, out var cidr))
            throw new PolicyFieldException(path + ".cidr", $"'{block.Cidr}' is not a CIDR");
        var range = AddressRange.Of(cidr.Network);
        var holes = new List<AddressRange>();
        for (int i = 0; i < (block.Except?.Count ?? 0); i++)
        {
            string field = $"{path}.except[{i}]";
            if (!InterfaceAddress.TryParse(block.Except![i], out var except))
                throw new PolicyFieldException(field, $"'{block.Except[i]}' is not a CIDR");
            var hole = AddressRange.Of(except.Network);
            if (!range.Covers(hole) || hole == range)
                throw new PolicyFieldException(field, $"'{block.Except[i]}' must be strictly inside cidr {block.Cidr}");
            holes.Add(hole);
        }
        return new IpBlockPeer(range.Subtract(holes), range, holes);
    }

    private static PolicyPort ReadPort(V1NetworkPolicyPort port, string path)
    {
        if (!Protocols.TryParse(port.Protocol, out byte protocol))
            throw new PolicyFieldException(path + ".protocol", $"unknown protocol '{port.Protocol}' (TCP, UDP, SCTP)");
        string? value = port.Port is { } p ? (string)p : null;
        if (value == null)
        {
            if (port.EndPort != null) throw new PolicyFieldException(path + ".endPort", "endPort needs a numeric port");
            return new NumericPort(protocol, 0, ushort.MaxValue);
        }
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            if (port.EndPort != null) throw new PolicyFieldException(path + ".endPort", "endPort cannot be used with a named port");
            if (value.Length is 0 or > 15) throw new PolicyFieldException(path + ".port", $"'{value}' is not a port name");
            return new NamedPort(protocol, value);
        }
        if (number is < 1 or > 65535) throw new PolicyFieldException(path + ".port", $"{number} is not a port (1-65535)");
        int end = port.EndPort ?? number;
        if (end < number || end > 65535)
            throw new PolicyFieldException(path + ".endPort", $"{end} must be between port {number} and 65535");
        return new NumericPort(protocol, (ushort)number, (ushort)end);
    }
}
