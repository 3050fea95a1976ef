using System.Net;
using k8s.Models;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Everything the compiler reads, frozen: namespaces and pods of the whole cluster (as
/// the API server reports them), the NetworkPolicies, and the pods wired on this node (from the
/// CNI plugin's attachment records, which exist before the API server knows the pod's IPs).</summary>
public sealed record ClusterSnapshot(
    IReadOnlyList<NamespaceState> Namespaces,
    IReadOnlyList<PodState> Pods,
    IReadOnlyList<V1NetworkPolicy> Policies,
    IReadOnlyList<LocalPod> LocalPods);

public sealed record NamespaceState(string Name, IReadOnlyDictionary<string, string> Labels);

public sealed record PodState(string Namespace, string Name, IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<IPAddress> Addresses, IReadOnlyList<ContainerPortState> Ports);

/// <summary>A named (or unnamed) container port; protocol is "TCP", "UDP" or "SCTP".</summary>
public sealed record ContainerPortState(string? Name, int Port, string Protocol);

/// <summary>A pod interface on this node: the host veth its traffic arrives on and the only
/// source addresses it may use.</summary>
public sealed record LocalPod(string Namespace, string Name, string HostInterface, IReadOnlyList<IPAddress> Addresses);
