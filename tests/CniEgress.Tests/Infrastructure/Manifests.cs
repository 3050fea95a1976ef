using CniEgress.PolicyAgent.Sources;
using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace CniEgress.Tests.Infrastructure;

/// <summary>Multi-document YAML read into the client's models, through the same YAML-to-JSON
/// path the agent's manifest source takes (the client's native-AOT build reads JSON only).</summary>
public static class Manifests
{
    public static List<object> LoadAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => Model(YamlJson.ToJson(d.RootNode)!)).ToList();
    }

    private static object Model(System.Text.Json.Nodes.JsonNode document)
    {
        string json = document.ToJsonString(), kind = (string?)document["kind"] ?? "";
        return kind switch
        {
            "Namespace" => KubernetesJson.Deserialize<V1Namespace>(json),
            "ServiceAccount" => KubernetesJson.Deserialize<V1ServiceAccount>(json),
            "ClusterRole" => KubernetesJson.Deserialize<V1ClusterRole>(json),
            "ClusterRoleBinding" => KubernetesJson.Deserialize<V1ClusterRoleBinding>(json),
            "ConfigMap" => KubernetesJson.Deserialize<V1ConfigMap>(json),
            "DaemonSet" => KubernetesJson.Deserialize<V1DaemonSet>(json),
            "Pod" => KubernetesJson.Deserialize<V1Pod>(json),
            "NetworkPolicy" => KubernetesJson.Deserialize<V1NetworkPolicy>(json),
            _ => throw new InvalidDataException($"no model for kind {kind}"),
        };
    }
}
