using k8s.Models;

namespace CniEgress.Tests.Policy;

/// <summary>Short builders for the parts of a NetworkPolicy the kernel tests write.</summary>
internal static class PolicyObjects
{
    public static V1NetworkPolicy Egress(string ns, string name, Dictionary<string, string>? podLabels, params V1NetworkPolicyEgressRule[] rules) =>
        Selecting(ns, name, podLabels, new V1NetworkPolicySpec { PolicyTypes = ["Egress"], Egress = rules.ToList() });

    public static V1NetworkPolicy Ingress(string ns, string name, Dictionary<string, string>? podLabels, params V1NetworkPolicyIngressRule[] rules) =>
        Selecting(ns, name, podLabels, new V1NetworkPolicySpec { PolicyTypes = ["Ingress"], Ingress = rules.ToList() });

    private static V1NetworkPolicy Selecting(string ns, string name, Dictionary<string, string>? podLabels, V1NetworkPolicySpec spec)
    {
        spec.PodSelector = new V1LabelSelector { MatchLabels = podLabels };
        return new V1NetworkPolicy { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns }, Spec = spec };
    }

    public static V1NetworkPolicyEgressRule To(V1NetworkPolicyPeer[]? peers, params V1NetworkPolicyPort[] ports) =>
        new() { To = peers?.ToList(), Ports = ports.Length == 0 ? null : ports.ToList() };

    public static V1NetworkPolicyIngressRule From(V1NetworkPolicyPeer[]? peers, params V1NetworkPolicyPort[] ports) =>
        new() { FromProperty = peers?.ToList(), Ports = ports.Length == 0 ? null : ports.ToList() };

    public static V1NetworkPolicyPeer Block(string cidr, params string[] except) =>
        new() { IpBlock = new V1IPBlock { Cidr = cidr, Except = except.Length == 0 ? null : except.ToList() } };

    public static V1NetworkPolicyPeer Pods(string key, string value) => new() { PodSelector = new V1LabelSelector { MatchLabels = L(key, value) } };

    public static V1NetworkPolicyPort Port(IntOrString? port, string protocol = "TCP", int? endPort = null) =>
        new() { Port = port, Protocol = protocol, EndPort = endPort };

    public static Dictionary<string, string> L(string key, string value) => new() { [key] = value };
}
