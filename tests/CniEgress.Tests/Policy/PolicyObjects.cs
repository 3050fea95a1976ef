using k8s.Models;

namespace CniEgress.Tests.Policy;

/// <summary>Short builders for the parts of a NetworkPolicy the kernel tests write.</summary>
internal static class PolicyObjects
{
    public static V1NetworkPolicyPeer Block(string cidr, params string[] except) =>
        new() { IpBlock = new V1IPBlock { Cidr = cidr, Except = except.Length == 0 ? null : except.ToList() } };

    public static V1NetworkPolicyPeer Pods(string key, string value) => new() { PodSelector = new V1LabelSelector { MatchLabels = L(key, value) } };

    public static V1NetworkPolicyPort Port(IntOrString? port, string protocol = "TCP", int? endPort = null) =>
        new() { Port = port, Protocol = protocol, EndPort = endPort };

    public static Dictionary<string, string> L(string key, string value) => new() { [key] = value };
}
