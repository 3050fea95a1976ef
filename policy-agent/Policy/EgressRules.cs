using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>A NetworkPolicy reduced to what egress enforcement needs, already validated: every
/// part that could not be read is gone, and an empty list that was not empty in the policy
/// allows nothing (so a rule whose only peer is invalid never turns into "every destination").</summary>
public sealed record EgressPolicy(string Key, string Namespace, LabelSelectorMatcher? PodSelector, bool IsolatesEgress, IReadOnlyList<PolicyRule> Rules)
{
    /// <summary>Null selector = the podSelector itself was invalid: fail closed, every pod of
    /// the namespace is isolated by this policy (and it allows nothing).</summary>
    public bool Selects(PodState pod) =>
        pod.Namespace == Namespace && (PodSelector == null || PodSelector.Matches(pod.Labels));
}

/// <summary>One rule: <see cref="Peers"/> (`to` of an egress rule, `from` of an ingress one) null =
/// every peer; <see cref="Ports"/> null = every port and protocol.</summary>
public sealed record PolicyRule(IReadOnlyList<EgressPeer>? Peers, IReadOnlyList<EgressPort>? Ports);

/// <summary>The ingress side of a policy that isolates its pods for ingress, read like the egress
/// side (<see cref="PolicyRule.Peers"/> are the `from` peers; named ports resolve against the
/// selected pod itself).</summary>
public sealed record IngressPolicy(string Key, string Namespace, LabelSelectorMatcher? PodSelector, IReadOnlyList<PolicyRule> Rules)
{
    public bool Selects(PodState pod) =>
        pod.Namespace == Namespace && (PodSelector == null || PodSelector.Matches(pod.Labels));
}

public abstract record EgressPeer;

/// <summary>Pods chosen by label: <see cref="Namespaces"/> null = the policy's own namespace;
/// <see cref="Pods"/> null = every pod of those namespaces.</summary>
public sealed record SelectorPeer(LabelSelectorMatcher? Pods, LabelSelectorMatcher? Namespaces, string PolicyNamespace) : EgressPeer;

/// <summary>cidr minus its excepts, as disjoint <see cref="Ranges"/>; the cidr and the excepts
/// themselves are kept to explain a verdict.</summary>
public sealed record IpBlockPeer(IReadOnlyList<AddressRange> Ranges, AddressRange Cidr, IReadOnlyList<AddressRange> Except) : EgressPeer;

public abstract record EgressPort(byte Protocol);

public sealed record NumericPort(byte Protocol, ushort First, ushort Last) : EgressPort(Protocol);

/// <summary>Resolved per destination pod against its containerPorts (name and protocol).</summary>
public sealed record NamedPort(byte Protocol, string Name) : EgressPort(Protocol);
