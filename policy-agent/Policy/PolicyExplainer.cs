using System.Globalization;
using System.Net;
using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Why a flow is allowed or denied on one side, in the terms of the policies: the
/// verdict, a one-line summary, and for every rule of every policy that isolates the pod for that
/// side whether it allows the flow and, when not, why each of its peers and ports does not match.
/// <see cref="PeerPod"/>: the pod at the other end (the destination on egress, the source on ingress).</summary>
public sealed record PolicyExplanation(bool Allowed, bool Isolated, string Summary, IReadOnlyList<string> IsolatedBy,
    string? PeerPod, IReadOnlyList<RuleExplanation> Rules);

/// <summary>One rule (spec.egress[Index] or spec.ingress[Index] of Policy) against one flow. Asked
/// without a port, <see cref="Allows"/> says its peers include the other end and <see cref="Opens"/>
/// which ports the rule opens there.</summary>
public sealed record RuleExplanation(string Policy, Direction Direction, int Index, bool Allows, IReadOnlyList<string> Reasons, string? Opens = null)
{
    public string Name => $"{Policy} {(Direction == Direction.Egress ? "egress" : "ingress")}[{Index.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>Evaluates one flow against the compiler's own reading of the policies (the same
/// <see cref="PolicySide"/> objects, selectors and cluster index the compiled classes come
/// from), collecting reasons instead of building sets. Pure.</summary>
internal static class PolicyExplainer
{
    /// <param name="ns">With <paramref name="name"/>: the pod whose policies decide (the source on egress, the destination on ingress).</param>
    /// <param name="peer">The other end's address.</param>
    public static PolicyExplanation Explain(ClusterIndex cluster, IEnumerable<PolicySide> isolatingInNamespace, Direction direction,
        string ns, string name, IPAddress peer, byte protocol, int? port)
    {
        string side = direction == Direction.Egress ? "egress" : "ingress";
        var peerPod = cluster.PodWithAddress(peer);
        string? peerName = peerPod == null ? null : $"{peerPod.Namespace}/{peerPod.Name}";
        var candidates = isolatingInNamespace.ToList();
        var pod = cluster.Pod(ns, name);
        if (pod == null)
            return candidates.Count == 0
                ? new(true, false, $"allowed: no {side} policy in namespace {ns} (the pod is not known to the cluster yet)", [], peerName, [])
                : new(false, true, $"denied: the pod's labels are not known yet and namespace {ns} has {side} policies (fail closed)",
                    candidates.Select(p => p.Key).ToList(), peerName, []);

        var selecting = candidates.Where(p => p.Selects(pod)).ToList();
        if (selecting.Count == 0)
            return new(true, false, $"allowed: no {side} policy selects {ns}/{name} (not isolated for {side})", [], peerName, []);

        // Named ports resolve against the destination: the peer on egress, the pod itself on ingress.
        var portOwner = direction == Direction.Egress ? peerPod : pod;
        var rules = new List<RuleExplanation>();
        foreach (var policy in selecting)
            for (int r = 0; r < policy.Rules.Count; r++)
                rules.Add(ExplainRule(cluster, policy, r, peerPod, portOwner, peer, protocol, port));
        var keys = selecting.Select(p => p.Key).ToList();
        var allowing = rules.FirstOrDefault(r => r.Allows);
        string summary = allowing != null
            ? port == null
                ? "open through " + string.Join(", ", rules.Where(r => r.Allows).Select(r => $"{r.Name} ({r.Opens})"))
                : $"allowed by {allowing.Name}"
            : rules.Count == 0
                ? $"denied: isolated by {string.Join(", ", keys)}, which have no {side} rules"
                : port == null
                    ? $"denied on every port: isolated by {string.Join(", ", keys)}, and none of their {rules.Count} {side} rule(s) opens anything {(direction == Direction.Egress ? "to" : "from")} it"
                    : $"denied: isolated by {string.Join(", ", keys)}, and none of their {rules.Count} {side} rule(s) allows it";
        return new(allowing != null, true, summary, keys, peerName, rules);
    }

    private static RuleExplanation ExplainRule(ClusterIndex cluster, PolicySide policy, int index, PodState? peerPod, PodState? portOwner,
        IPAddress peer, byte protocol, int? port)
    {
        var rule = policy.Rules[index];
        var peerReasons = new List<string>();
        var portReasons = new List<string>();
        string peerField = policy.Direction == Direction.Egress ? "to" : "from";
        bool peerMatches = AnyMatches(rule.Peers, peerField, "peer", entry => PeerMismatch(cluster, entry, peerPod, peer), peerReasons);
        if (port is not { } number)
        {
            // Which ports, not whether one: the rule counts when its peers take the other end in.
            bool opens = peerMatches && rule.Ports is not { Count: 0 };
            if (peerMatches && !opens) peerReasons.Add("ports: every port of this rule is invalid (see the policy's problems), so it allows nothing");
            return new(policy.Key, policy.Direction, index, opens, opens ? [] : peerReasons, opens ? Opens(rule, portOwner) : null);
        }
        bool portMatches = AnyMatches(rule.Ports, "ports", "port", entry => PortMismatch(entry, portOwner, protocol, number), portReasons);
        bool allows = peerMatches && portMatches;
        var reasons = allows ? [] : (peerMatches ? [] : peerReasons).Concat(portMatches ? [] : portReasons).ToList();
        return new(policy.Key, policy.Direction, index, allows, reasons);
    }

    /// <summary>A rule's `to` or `ports`: null matches everything; an empty list (every entry was
    /// invalid) nothing; otherwise the first entry that matches, with why each one before did not.</summary>
    private static bool AnyMatches<T>(IReadOnlyList<T>? entries, string field, string noun, Func<T, string?> mismatch, List<string> reasons)
    {
        if (entries == null) return true;
        if (entries.Count == 0)
        {
            reasons.Add($"{field}: every {noun} of this rule is invalid (see the policy's problems), so it allows nothing");
            return false;
        }
        for (int i = 0; i < entries.Count; i++)
        {
            if (mismatch(entries[i]) is not { } why) return true;
            reasons.Add($"{field}[{i.ToString(CultureInfo.InvariantCulture)}]: {why}");
        }
        return false;
    }

    /// <summary>"every port", "tcp 80, udp 53", "tcp 'http' (80 on team-b/db)".</summary>
    private static string Opens(PolicyRule rule, PodState? target) => rule.Ports == null ? "every port" : string.Join(", ", rule.Ports.Select(entry => entry switch
    {
        NumericPort n => Describe(n),
        NamedPort named => $"{Protocols.Name(named.Protocol)} '{named.Name}'" + (target?.Ports.FirstOrDefault(p => p.Name == named.Name && p.Protocol == ClusterIndex.ProtocolName(named.Protocol)) is { } declared
            ? string.Create(CultureInfo.InvariantCulture, $" ({declared.Port} on {target.Namespace}/{target.Name})") : " (not declared by the destination)"),
        _ => "?",
    }));

    /// <summary>Why <paramref name="peer"/> does not take in the other end (<paramref name="address"/>, the pod <paramref name="target"/> if it is one); null when it does.</summary>
    private static string? PeerMismatch(ClusterIndex cluster, PolicyPeer peer, PodState? target, IPAddress address)
    {
        switch (peer)
        {
            case IpBlockPeer block:
                string text = "ipBlock " + block.Cidr + (block.Except.Count == 0 ? "" : " except " + string.Join(", ", block.Except));
                if (!block.Cidr.Contains(address)) return $"{text}: {address} is outside {block.Cidr}";
                foreach (var hole in block.Except)
                    if (hole.Contains(address)) return $"{text}: {address} is in except {hole}";
                return null;
            case SelectorPeer selector:
                string what = Describe(selector);
                if (target == null) return $"{what}: {address} is not the address of any pod";
                if (selector.Namespaces == null && target.Namespace != selector.PolicyNamespace)
                    return $"{what}: pod {target.Namespace}/{target.Name} is not in the policy's namespace {selector.PolicyNamespace}";
                if (selector.Namespaces != null)
                {
                    var ns = cluster.Namespace(target.Namespace);
                    if (ns == null || !selector.Namespaces.Matches(ns.Labels))
                        return $"{what}: namespace {target.Namespace} ({Labels(ns?.Labels)}) does not match the namespaceSelector";
                }
                if (selector.Pods != null && !selector.Pods.Matches(target.Labels))
                    return $"{what}: pod {target.Namespace}/{target.Name} ({Labels(target.Labels)}) does not match the podSelector";
                return null;
            default:
                return "unknown peer";
        }
    }

    private static string? PortMismatch(PolicyPort entry, PodState? target, byte protocol, int port)
    {
        string wanted = Protocols.Name(protocol);
        switch (entry)
        {
            case NumericPort numeric:
                string text = Describe(numeric);
                if (numeric.Protocol != protocol) return $"{text}: the flow is {wanted}";
                return port < numeric.First || port > numeric.Last ? string.Create(CultureInfo.InvariantCulture, $"{text}: port {port} is outside it") : null;
            case NamedPort named:
                string label = $"{Protocols.Name(named.Protocol)} '{named.Name}'";
                if (named.Protocol != protocol) return $"{label}: the flow is {wanted}";
                if (target == null) return $"{label}: the destination is not a pod, so a named port cannot resolve";
                string protocolName = ClusterIndex.ProtocolName(named.Protocol);
                var declared = target.Ports.Where(p => p.Name == named.Name && p.Protocol == protocolName).ToList();
                if (declared.Count == 0) return $"{label}: pod {target.Namespace}/{target.Name} has no {protocolName} containerPort named '{named.Name}'";
                return declared.Any(d => d.Port == port) ? null
                    : $"{label}: on pod {target.Namespace}/{target.Name} it is port {string.Join(", ", declared.Select(d => d.Port.ToString(CultureInfo.InvariantCulture)))}, not {port.ToString(CultureInfo.InvariantCulture)}";
            default:
                return "unknown port";
        }
    }

    private static string Describe(NumericPort port) => Protocols.Name(port.Protocol) + " " + (port.First == 0 && port.Last == ushort.MaxValue ? "every port"
        : port.First == port.Last ? port.First.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{port.First}-{port.Last}"));

    private static string Describe(SelectorPeer peer) => (peer.Pods, peer.Namespaces) switch
    {
        (not null, not null) => "podSelector + namespaceSelector",
        (not null, null) => "podSelector",
        _ => "namespaceSelector",
    };

    private static string Labels(IReadOnlyDictionary<string, string>? labels) =>
        labels is { Count: > 0 } ? string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) : "no labels";
}
