using CniEgress.PolicyAgent.Policy;
using k8s.Models;

namespace CniEgress.Benchmarks;

/// <summary>The synthetic cluster's objects as the API server (or a manifest) would show them.</summary>
internal static class SyntheticObjects
{
    public static V1Namespace Namespace(NamespaceState ns) =>
        new() { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = ns.Name, Labels = ns.Labels.ToDictionary() } };

    public static V1Pod Pod(PodState pod) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta { Name = pod.Name, NamespaceProperty = pod.Namespace, Labels = pod.Labels.ToDictionary() },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Ports = pod.Ports.Select(p => new V1ContainerPort { Name = p.Name, ContainerPort = p.Port, Protocol = p.Protocol }).ToList() }] },
        Status = new V1PodStatus { PodIPs = pod.Addresses.Select(a => new V1PodIP { Ip = a.ToString() }).ToList() },
    };

    public static V1NetworkPolicy Policy(V1NetworkPolicy policy)
    {
        policy.ApiVersion = "networking.k8s.io/v1";
        policy.Kind = "NetworkPolicy";
        return policy;
    }
}
