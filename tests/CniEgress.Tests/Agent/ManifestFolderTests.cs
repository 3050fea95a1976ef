using CniEgress.PolicyAgent.Sources;
using Xunit;

namespace CniEgress.Tests.Agent;

public sealed class ManifestFolderTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("manifests").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static ClusterObjects ReadOnce(string path, List<string> problems)
    {
        var reader = new ManifestFolderReader(path);
        var objects = reader.Read();
        problems.AddRange(reader.Problems);
        return objects;
    }

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
        var objects = ReadOnce(folder, problems);
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
        var objects = ReadOnce(folder, problems);
        Assert.Equal(["ok"], objects.Namespaces.Keys);
        string file = Path.Combine(folder, "mixed.yaml");
        Assert.Collection(problems,
            p => Assert.StartsWith($"{file}:9: ", p, StringComparison.Ordinal),
            p => Assert.Equal($"{file}:11: kind Deployment (apps/v1) skipped: only v1 Namespace, v1 Pod, v1 Node and networking.k8s.io/v1 NetworkPolicy are read", p),
            p => Assert.Equal($"{file}:15: no apiVersion", p),
            p => Assert.StartsWith($"{file}:18: a manifest must be a mapping", p, StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_folder_is_a_problem_not_a_crash()
    {
        var problems = new List<string>();
        var objects = ReadOnce(Path.Combine(folder, "nope"), problems);
        Assert.Empty(objects.Policies);
        Assert.Single(problems);
    }

    private static string Pod(string name, string app) => $$$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{{name}}}, namespace: shop, labels: {app: "{{{app}}}"}}
        """;

    [Fact]
    public void Read_again_only_changed_files_are_parsed_and_only_their_objects_are_changes()
    {
        Write("a.yaml", Pod("web", "v1") + "\n---\n" + Pod("db", "v1"));
        Write("b.yaml", Pod("cache", "v1"));
        var reader = new ManifestFolderReader(folder);
        Assert.Equal(3, reader.Read().Pods.Count);
        Assert.Empty(reader.ReadChanges().Pods); // nothing changed: nothing parsed, nothing told

        Write("a.yaml", Pod("web", "v2")); // db leaves the file, web changes
        Write("c.yaml", "kind: [broken");
        var changes = reader.ReadChanges();
        Assert.Equal(["shop/db", "shop/web"], changes.Pods.Select(c => c.Key).Order(StringComparer.Ordinal));
        Assert.Null(changes.Pods.Single(c => c.Key == "shop/db").Value);
        Assert.Equal("v2", changes.Pods.Single(c => c.Key == "shop/web").Value!.Labels["app"]);
        Assert.Single(reader.Problems, p => p.StartsWith(Path.Combine(folder, "c.yaml") + ":1: ", StringComparison.Ordinal));

        File.Delete(Path.Combine(folder, "b.yaml"));
        Assert.Equal([new KeyValuePair<string, CniEgress.PolicyAgent.Policy.PodState?>("shop/cache", null)], reader.ReadChanges().Pods);
    }

    [Fact]
    public void Read_again_the_later_file_wins_a_duplicate_and_its_removal_brings_back_the_earlier_copy()
    {
        Write("a.yaml", Pod("web", "from-a"));
        Write("b.yaml", Pod("web", "from-b"));
        var reader = new ManifestFolderReader(folder);
        Assert.Equal("from-b", reader.Read().Pods["shop/web"].Labels["app"]);
        Write("a.yaml", Pod("web", "from-a, edited"));
        Assert.Empty(reader.ReadChanges().Pods); // b's copy still wins
        File.Delete(Path.Combine(folder, "b.yaml"));
        var change = Assert.Single(reader.ReadChanges().Pods);
        Assert.Equal("from-a, edited", change.Value!.Labels["app"]);
    }

    [Fact]
    public void Read_again_a_file_rewritten_at_once_with_the_same_size_is_still_seen_changed()
    {
        // As on a file system whose times tick in whole seconds: every rewrite within the second looks the same.
        string file = Path.Combine(folder, "a.yaml");
        void Rewrite(string colour)
        {
            Write("a.yaml", Pod("web", colour));
            var now = DateTime.UtcNow;
            File.SetLastWriteTimeUtc(file, new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc));
        }
        var reader = new ManifestFolderReader(folder);
        Rewrite("pink");
        Assert.Single(reader.Read().Pods);
        for (int round = 0; round < 20; round++)
        {
            string colour = round % 2 == 0 ? "blue" : "pink";
            Rewrite(colour);
            Assert.Equal(colour, Assert.Single(reader.ReadChanges().Pods).Value!.Labels["app"]);
        }
    }
}
