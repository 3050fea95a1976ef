using CniEgress.PolicyAgent.Sources;
using Xunit;

namespace CniEgress.Tests.Agent;

public sealed class ManifestFolderTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("manifests").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(folder, name), text);

    [Fact]
    public void Reads_several_documents_per_file_and_json_and_reduces_objects_to_what_the_compiler_needs()
    {
        Write("a.yaml", """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: shop
              labels: {team: x}
            ---
            # a comment-only document is skipped
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web, namespace: shop, labels: {app: web}}
            spec:
              containers:
              - name: main
                ports: [{name: http, containerPort: 8080}, {containerPort: 53, protocol: UDP}]
            status:
              podIPs: [{ip: 10.0.0.5}, {ip: "fd00::5"}]
            """);
        Write("b.json", """{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"}, "spec": {"podSelector": {}}}""");
        Write("notes.txt", "not a manifest");
        var problems = new List<string>();
        var objects = ManifestFolder.Read(folder, problems);
        Assert.Empty(problems);
        var ns = Assert.Single(objects.Namespaces.Values);
        Assert.Equal("x", ns.Labels["team"]);
        Assert.Equal("shop", ns.Labels["kubernetes.io/metadata.name"]); // as the API server labels it
        var pod = objects.Pods["shop/web"];
        Assert.Equal(["10.0.0.5", "fd00::5"], pod.Addresses.Select(a => a.ToString()));
        Assert.Equal([("http", 8080, "TCP"), (null, 53, "UDP")], pod.Ports.Select(p => (p.Name, p.Port, p.Protocol)));
        Assert.True(objects.Policies.ContainsKey("default/deny")); // no namespace: default
    }

    [Fact]
    public void A_broken_document_or_another_kind_is_reported_with_file_and_line_and_the_rest_still_reads()
    {
        Write("mixed.yaml", """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: ok
            ---
            apiVersion: v1
            kind: Namespace
            metadata:
              name: [unclosed
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            ---
            kind: Pod
            metadata: {name: orphan}
            ---
            - a list, not an object
            """);
        var problems = new List<string>();
        var objects = ManifestFolder.Read(folder, problems);
        Assert.Equal(["ok"], objects.Namespaces.Keys);
        string file = Path.Combine(folder, "mixed.yaml");
        Assert.Collection(problems,
            p => Assert.StartsWith($"{file}:9: ", p, StringComparison.Ordinal),
            p => Assert.Equal($"{file}:11: kind Deployment (apps/v1) skipped: only v1 Namespace, v1 Pod and networking.k8s.io/v1 NetworkPolicy are read", p),
            p => Assert.Equal($"{file}:15: no apiVersion", p),
            p => Assert.StartsWith($"{file}:18: a manifest must be a mapping", p, StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_folder_is_a_problem_not_a_crash()
    {
        var problems = new List<string>();
        var objects = ManifestFolder.Read(Path.Combine(folder, "nope"), problems);
        Assert.Empty(objects.Policies);
        Assert.Single(problems);
    }
}
