using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Which way a connection crosses the pod's interface: out of it (egress, the policy's
/// `to` peers) or into it (ingress, its `from` peers).</summary>
public enum Direction { Egress, Ingress }

/// <summary>One side of a NetworkPolicy reduced to what enforcement needs, already validated:
/// every part that could not be read is gone, and an empty list that was not empty in the policy
/// allows nothing (so a rule whose only peer is invalid never turns into "every peer").
/// <see cref="Isolates"/>: the policy's effective policyTypes include this side.</summary>
public sealed record PolicySide(Direction Direction, string Key, string Namespace, LabelSelectorMatcher? PodSelector, bool Isolates, IReadOnlyList<PolicyRule> Rules)
{
    /// <summary>Null selector = the podSelector itself was invalid: fail closed, every pod of
    /// the namespace is isolated by this policy (and it allows nothing).</summary>
    public bool Selects(PodState pod) =>
        pod.Namespace == Namespace && (PodSelector == null || PodSelector.Matches(pod.Labels));
}

/// <summary>One rule: <see cref="Peers"/> (`to` of an egress rule, `from` of an ingress one) null =
/// every peer; <see cref="Ports"/> null = every port and protocol.</summary>
public sealed record PolicyRule(IReadOnlyList<PolicyPeer>? Peers, IReadOnlyList<PolicyPort>? Ports);

public abstract record PolicyPeer;

/// <summary>Pods chosen by label: <see cref="Namespaces"/> null = the policy's own namespace;
/// <see cref="Pods"/> null = every pod of those namespaces.</summary>
public sealed record SelectorPeer(LabelSelectorMatcher? Pods, LabelSelectorMatcher? Namespaces, string PolicyNamespace) : PolicyPeer;

/// <summary>cidr minus its excepts, as disjoint <see cref="Ranges"/>; the cidr and the excepts
/// themselves are kept to explain a verdict.</summary>
public sealed record IpBlockPeer(IReadOnlyList<AddressRange> Ranges, AddressRange Cidr, IReadOnlyList<AddressRange> Except) : PolicyPeer;

public abstract record PolicyPort(byte Protocol);

public sealed record NumericPort(byte Protocol, ushort First, ushort Last) : PolicyPort(Protocol);

/// <summary>Resolved per destination pod against its containerPorts (name and protocol).</summary>
public sealed record NamedPort(byte Protocol, string Name) : PolicyPort(Protocol);
