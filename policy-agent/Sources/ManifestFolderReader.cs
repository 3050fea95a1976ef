using CniEgress.PolicyAgent.Policy;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>A manifest folder read again and again: only files whose size or modification time
/// changed (<see cref="FileStamp"/>) are read again, only those whose text changed are parsed
/// again, and <see cref="ReadChanges"/> names only the objects those files
/// held before or hold now, so a node with 50,000 pods in its manifests does not parse them all
/// for every CNI ADD. When two files define the same object, the later file (ordinal order) wins,
/// as a whole reading would have it.</summary>
public sealed class ManifestFolderReader(string folder)
{
    private SortedDictionary<string, (FileStamp Stamp, UInt128 Text, ManifestFolder.FileContents Contents)> files = new(StringComparer.Ordinal);
    private ClusterObjects current = ClusterObjects.Empty;

    /// <summary>Every problem of the last reading (file:line and what is wrong).</summary>
    public IReadOnlyList<string> Problems { get; private set; } = [];

    /// <summary>The Node objects of the last reading, by name; a new dictionary only when they changed.</summary>
    public IReadOnlyDictionary<string, NodeState> Nodes { get; private set; } = new Dictionary<string, NodeState>();

    /// <summary>The whole folder as it is now.</summary>
    public ClusterObjects Read()
    {
        Refresh();
        return current;
    }

    /// <summary>Only the objects of files that changed since the last reading, with their state
    /// now (null: gone); empty when no file changed.</summary>
    public ClusterChanges ReadChanges()
    {
        var before = current;
        var touched = Refresh();
        var namespaces = new List<KeyValuePair<string, NamespaceState?>>();
        var pods = new List<KeyValuePair<string, PodState?>>();
        var policies = new List<KeyValuePair<string, V1NetworkPolicy?>>();
        foreach (string key in touched.Namespaces.Where(k => Differs(before.Namespaces, current.Namespaces, k)))
            namespaces.Add(new(key, current.Namespaces.GetValueOrDefault(key)));
        foreach (string key in touched.Pods.Where(k => Differs(before.Pods, current.Pods, k)))
            pods.Add(new(key, current.Pods.GetValueOrDefault(key)));
        foreach (string key in touched.Policies.Where(k => Differs(before.Policies, current.Policies, k)))
            policies.Add(new(key, current.Policies.GetValueOrDefault(key)));
        return new ClusterChanges(namespaces, pods, policies);
    }

    /// <summary>Reparses changed files; returns the keys those files named before or name now.</summary>
    private (HashSet<string> Namespaces, HashSet<string> Pods, HashSet<string> Policies) Refresh()
    {
        var touched = (Namespaces: new HashSet<string>(StringComparer.Ordinal), Pods: new HashSet<string>(StringComparer.Ordinal), Policies: new HashSet<string>(StringComparer.Ordinal));
        if (!Directory.Exists(folder))
        {
            Touch(touched, files.Values.Select(f => f.Contents));
            files.Clear();
            current = ClusterObjects.Empty;
            Problems = [$"{folder}: no such folder"];
            return touched;
        }
        var next = new SortedDictionary<string, (FileStamp, UInt128, ManifestFolder.FileContents)>(StringComparer.Ordinal);
        bool changed = false;
        foreach (string file in Directory.EnumerateFiles(folder).Where(ManifestFolder.IsManifest))
        {
            var stamp = FileStamp.Take(file);
            bool seen = files.TryGetValue(file, out var known);
            if (seen && known.Stamp.Unchanged(stamp))
            {
                next[file] = known;
                continue;
            }
            string? text = null, unreadable = null;
            try { text = File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { unreadable = $"{file}: {e.Message}"; }
            var hash = text == null ? UInt128.Zero : System.IO.Hashing.XxHash128.HashToUInt128(System.Text.Encoding.UTF8.GetBytes(text));
            if (seen && text != null && known.Text == hash)
            {
                next[file] = (stamp, hash, known.Contents);
                continue;
            }
            var contents = text == null ? ManifestFolder.FileContents.Unreadable(unreadable!) : ManifestFolder.Parse(file, text);
            if (seen) Touch(touched, [known.Contents]);
            Touch(touched, [contents]);
            next[file] = (stamp, hash, contents);
            changed = true;
        }
        foreach (var (file, gone) in files.Where(f => !next.ContainsKey(f.Key)))
        {
            Touch(touched, [gone.Contents]);
            changed = true;
        }
        files = next;
        if (changed || current == ClusterObjects.Empty) Compose();
        return touched;
    }

    private void Compose()
    {
        var namespaces = new Dictionary<string, NamespaceState>(StringComparer.Ordinal);
        var pods = new Dictionary<string, PodState>(StringComparer.Ordinal);
        var policies = new Dictionary<string, V1NetworkPolicy>(StringComparer.Ordinal);
        var nodes = new Dictionary<string, NodeState>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (_, _, contents) in files.Values)
        {
            foreach (var node in contents.Nodes) nodes[node.Name] = node;
            foreach (var ns in contents.Namespaces) namespaces[ns.Name] = ns;
            foreach (var pod in contents.Pods) pods[ClusterObjects.Key(pod.Namespace, pod.Name)] = pod;
            foreach (var policy in contents.Policies) policies[PolicyKey(policy)] = policy;
            problems.AddRange(contents.Problems);
        }
        current = new ClusterObjects(namespaces, pods, policies);
        Problems = problems;
        if (!NodeState.Same(nodes, Nodes)) Nodes = nodes;
    }

    private static void Touch((HashSet<string> Namespaces, HashSet<string> Pods, HashSet<string> Policies) touched, IEnumerable<ManifestFolder.FileContents> contents)
    {
        foreach (var file in contents)
        {
            touched.Namespaces.UnionWith(file.Namespaces.Select(n => n.Name));
            touched.Pods.UnionWith(file.Pods.Select(p => ClusterObjects.Key(p.Namespace, p.Name)));
            touched.Policies.UnionWith(file.Policies.Select(PolicyKey));
        }
    }

    /// <summary>A touched key whose object is the same instance before and after came from an
    /// unchanged file (another file's copy won): nothing to tell.</summary>
    private static bool Differs<T>(IReadOnlyDictionary<string, T> before, IReadOnlyDictionary<string, T> after, string key) where T : class =>
        !ReferenceEquals(before.GetValueOrDefault(key), after.GetValueOrDefault(key));

    private static string PolicyKey(V1NetworkPolicy policy) => ClusterObjects.Key(policy.Metadata.NamespaceProperty, policy.Metadata.Name);
}
