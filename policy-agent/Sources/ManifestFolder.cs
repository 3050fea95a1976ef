using System.Globalization;
using System.Text.RegularExpressions;
using CniEgress.PolicyAgent.Policy;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The offline source: Namespace, Pod, NetworkPolicy and Node manifests (several YAML documents
/// per file) in one folder. A document that is not valid YAML, or of another kind, is reported
/// with its file and line and skipped; everything else still applies.</summary>
public static partial class ManifestFolder
{
    /// <summary>What one file says: its objects in file order, and its problems.</summary>
    public sealed record FileContents(
        IReadOnlyList<NamespaceState> Namespaces,
        IReadOnlyList<PodState> Pods,
        IReadOnlyList<V1NetworkPolicy> Policies,
        IReadOnlyList<string> Problems,
        IReadOnlyList<NodeState> Nodes)
    {
        public static FileContents Unreadable(string problem) => new([], [], [], [problem], []);
    }

    /// <summary>The documents of one file's text; <paramref name="file"/> names it in problems.</summary>
    public static FileContents Parse(string file, string text)
    {
        var namespaces = new List<NamespaceState>();
        var pods = new List<PodState>();
        var policies = new List<V1NetworkPolicy>();
        var nodes = new List<NodeState>();
        var problems = new List<string>();
        foreach (var (line, document) in Documents(text))
        {
            string where = $"{file}:{line.ToString(CultureInfo.InvariantCulture)}";
            try
            {
                var root = Load(document);
                switch (root == null ? ((string, string)?)null : KindOf(root))
                {
                    case null: break; // an empty document
                    case ("v1", "Namespace"):
                        namespaces.Add(ObjectConversion.Namespace(Deserialize<V1Namespace>(root!)));
                        break;
                    case ("v1", "Pod"):
                        pods.Add(ObjectConversion.Pod(Deserialize<V1Pod>(root!)));
                        break;
                    case ("networking.k8s.io/v1", "NetworkPolicy"):
                        var policy = Deserialize<V1NetworkPolicy>(root!);
                        policy.Metadata ??= new V1ObjectMeta();
                        policy.Metadata.NamespaceProperty ??= "default";
                        policies.Add(policy);
                        break;
                    case ("v1", "Node"):
                        nodes.Add(ObjectConversion.Node(Deserialize<V1Node>(root!)));
                        break;
                    case var (apiVersion, kind):
                        problems.Add($"{where}: kind {kind} ({apiVersion}) skipped: only v1 Namespace, v1 Pod, v1 Node and networking.k8s.io/v1 NetworkPolicy are read");
                        break;
                }
            }
            catch (YamlException e)
            {
                // The parser may notice a problem only at the end of the document: name its last line then.
                int at = Math.Min(line + (int)e.Start.Line - 1, line + document.Count(c => c == '\n'));
                problems.Add($"{file}:{at.ToString(CultureInfo.InvariantCulture)}: {FirstLine(e.InnerException?.Message ?? e.Message)}");
            }
            catch (System.Text.Json.JsonException e)
            {
                // A field of the wrong type (a number where the API wants a string, ...), as the API server would refuse it.
                problems.Add($"{where}: {FirstLine(e.Message)}");
            }
        }
        return new FileContents(namespaces, pods, policies, problems, nodes);
    }

    public static bool IsManifest(string file) =>
        Path.GetExtension(file) is ".yaml" or ".yml" or ".json" && !Path.GetFileName(file).StartsWith('.');

    /// <summary>(apiVersion, kind) of one document; null for an empty one.</summary>
    /// <summary>The document's root mapping; null for an empty document.</summary>
    private static YamlMappingNode? Load(string document)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(document));
        if (stream.Documents.Count == 0) return null;
        return stream.Documents[0].RootNode as YamlMappingNode
            ?? throw new YamlException(stream.Documents[0].RootNode.Start, stream.Documents[0].RootNode.End, "a manifest must be a mapping with apiVersion and kind");
    }

    private static (string ApiVersion, string Kind) KindOf(YamlMappingNode root)
    {
        string Field(string name) => root.Children.TryGetValue(new YamlScalarNode(name), out var node) && node is YamlScalarNode { Value: { } value }
            ? value : throw new YamlException(root.Start, root.End, $"no {name}");
        return (Field("apiVersion"), Field("kind"));
    }

    private static T Deserialize<T>(YamlMappingNode root) =>
        k8s.KubernetesJson.Deserialize<T>(YamlJson.ToJson(root)!.ToJsonString());

    /// <summary>The documents of a file, each with the line it starts on, split at "---" lines so
    /// that one broken document does not hide the others.</summary>
    private static IEnumerable<(int Line, string Text)> Documents(string text)
    {
        var lines = text.Split('\n');
        int start = 0;
        for (int i = 0; i <= lines.Length; i++)
        {
            if (i < lines.Length && !Separator().IsMatch(lines[i])) continue;
            if (i > start) yield return (start + 1, string.Join('\n', lines[start..i]));
            start = i + 1;
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    [GeneratedRegex(@"^---\s*(#.*)?\r?$")]
    private static partial Regex Separator();
}
