using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.PolicyAgent.Sources;
using YamlDotNet.RepresentationModel;

namespace CniEgress.Tests.Conformance;

/// <summary>A conformance case as data: steps, each with the labels and the complete set of
/// policies in force, and the expected truth table of every probe (rows: from, columns: to;
/// "." allowed, "X" denied).</summary>
public sealed record NetpolCase(string Name, string Upstream, IReadOnlyList<NetpolStep> Steps)
{
    public override string ToString() => Name;
}

public sealed record NetpolStep(string? Note, Dictionary<string, Dictionary<string, string>> NamespaceLabels,
    Dictionary<string, Dictionary<string, string>> PodLabels, IReadOnlyList<JsonNode> Policies, IReadOnlyList<NetpolProbe> Probes);

/// <summary>One probe: rows are the nine pods; the header's columns (pods, or external addresses)
/// say which destinations to probe.</summary>
public sealed record NetpolProbe(int Port, string Protocol, IReadOnlyList<string> Columns, IReadOnlyDictionary<(string From, string To), bool> Expected);

public static class NetpolCases
{
    /// <summary>Every case of the data files next to this source (upstream ports and seed examples).</summary>
    public static IReadOnlyList<NetpolCase> All([CallerFilePath] string source = "") =>
        Directory.GetFiles(Path.GetDirectoryName(source)!, "*-cases.yaml").Order(StringComparer.Ordinal).SelectMany(Load).ToList();

    public static IEnumerable<NetpolCase> Load(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(file)));
        var root = YamlJson.ToJson(stream.Documents[0].RootNode)!;
        foreach (var item in root["cases"]!.AsArray())
        {
            var steps = new List<NetpolStep>();
            var namespaceLabels = NetpolWorld.DefaultNamespaceLabels();
            var podLabels = NetpolWorld.DefaultPodLabels();
            foreach (var step in item!["steps"]!.AsArray())
            {
                // Label changes last until a later step changes them again, as in a cluster.
                foreach (var (ns, labels) in Labels(step!["namespaceLabels"])) namespaceLabels[ns] = labels;
                foreach (var (pod, labels) in Labels(step["podLabels"])) podLabels[pod] = labels;
                var probes = step["probes"]!.AsArray().Select(p =>
                {
                    var (columns, expected) = ParseTable((string)p!["table"]!);
                    return new NetpolProbe((int)(long)p["port"]!, ((string?)p["protocol"] ?? "TCP").ToUpperInvariant(), columns, expected);
                }).ToList();
                steps.Add(new NetpolStep((string?)step["note"], Copy(namespaceLabels), Copy(podLabels),
                    step["policies"]?.AsArray().Select(p => p!.DeepClone()).ToList() ?? [], probes));
            }
            yield return new NetpolCase((string)item["name"]!, (string?)item["upstream"] ?? "", steps);
        }
    }

    /// <summary>The header names the columns; each row starts with its pod.</summary>
    public static (List<string> Columns, Dictionary<(string, string), bool> Cells) ParseTable(string table)
    {
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var columns = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
        foreach (string column in columns.Where(c => !NetpolWorld.Pods.Contains(c) && !NetpolWorld.Externals.Contains(c)))
            throw new InvalidDataException($"column '{column}' is neither a pod of the model nor an external host");
        var cells = new Dictionary<(string, string), bool>();
        foreach (string line in lines[1..])
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != columns.Length + 1) throw new InvalidDataException($"row '{line}' has {parts.Length - 1} cells for {columns.Length} columns");
            for (int i = 0; i < columns.Length; i++)
                cells[(parts[0], columns[i])] = parts[i + 1] switch { "." => true, "X" => false, var other => throw new InvalidDataException($"cell '{other}' in '{line}'") };
        }
        if (cells.Count != NetpolWorld.Pods.Length * columns.Length || lines.Length != NetpolWorld.Pods.Length + 1)
            throw new InvalidDataException($"a table needs a row for each of the {NetpolWorld.Pods.Length} pods");
        return ([.. columns], cells);
    }

    /// <summary>Expected and observed side by side, differing cells marked: "X>." expected denied, got allowed.</summary>
    public static string Compare(IReadOnlyList<string> columns, IReadOnlyDictionary<(string, string), bool> expected, IReadOnlyDictionary<(string, string), bool> actual)
    {
        var text = new StringBuilder("-   ").AppendJoin(' ', columns.Select(p => p.PadRight(3))).Append('\n');
        foreach (string from in NetpolWorld.Pods)
        {
            text.Append(from).Append(' ');
            foreach (string to in columns)
            {
                bool want = expected[(from, to)], got = actual[(from, to)];
                text.Append((want == got ? (got ? "." : "X") : (want ? ".>X" : "X>.")).PadRight(Math.Max(3, to.Length))).Append(' ');
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    private static IEnumerable<(string, Dictionary<string, string>)> Labels(JsonNode? node) =>
        node is JsonObject map ? map.Select(kv => (kv.Key, kv.Value!.AsObject().ToDictionary(l => l.Key, l => (string)l.Value!))) : [];

    private static Dictionary<string, Dictionary<string, string>> Copy(Dictionary<string, Dictionary<string, string>> labels) =>
        labels.ToDictionary(kv => kv.Key, kv => new Dictionary<string, string>(kv.Value));
}
