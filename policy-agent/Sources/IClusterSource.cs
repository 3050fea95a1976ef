namespace CniEgress.PolicyAgent.Sources;

/// <summary>Where the agent learns about namespaces, pods and policies: a manifest folder or the
/// Kubernetes API. <see cref="Read"/> is called from the main loop; <paramref name="changed"/>
/// (given to <see cref="Start"/>) wakes it.</summary>
public interface IClusterSource : IDisposable
{
    /// <summary>Describes the source for the log.</summary>
    string Description { get; }

    /// <summary>False until the source has a complete first view; the agent writes nothing to
    /// the kernel before (an incomplete view would enforce too little).</summary>
    bool Ready { get; }

    /// <summary>Why the source cannot reach the cluster right now; null when it can. The agent
    /// keeps enforcing its last view meanwhile and reports itself not ready.</summary>
    string? Unreachable { get; }

    /// <summary>Failed calls to the cluster so far.</summary>
    long Errors { get; }

    /// <summary>How the agent coalesces a burst of this source's changes into one reading.</summary>
    Debounce Debounce { get; }

    void Start(Action changed);

    ClusterObjects Read(ICollection<string> problems);

    /// <summary>Only what changed since the last <see cref="Read"/> or call (the API's watch
    /// events, a folder's changed files). Like <see cref="Read"/>, it adds every current problem
    /// to <paramref name="problems"/>.</summary>
    ClusterChanges ReadChanges(ICollection<string> problems);

    /// <summary>One pod the source has not reported yet, asked of the cluster directly (a CNI ADD
    /// that outran the watch); null when the source cannot tell.</summary>
    Policy.PodState? FetchPod(string ns, string name);

    /// <summary>The cluster's nodes, by name, for routes to their pod CIDRs; the same dictionary
    /// until they change.</summary>
    IReadOnlyDictionary<string, NodeState> Nodes { get; }

    /// <summary>Tells the cluster about a policy part that cannot be enforced (an Event on the
    /// policy for the API; the log says it anyway).</summary>
    void Report(Policy.PolicyProblem problem);

    /// <summary>A problem with a node (its pods unreachable from here): a Warning Event on the
    /// Node for the API; the log says it anyway.</summary>
    void ReportNode(string node, string problem);
}

/// <summary>A reading waits until changes have stopped for <paramref name="Quiet"/>, but no longer
/// than <paramref name="AtMost"/> after the first.</summary>
public sealed record Debounce(TimeSpan Quiet, TimeSpan AtMost);

/// <summary>The manifest folder as a source: after the first reading, only changed files are parsed again.</summary>
public sealed class ManifestSource(string folder) : IClusterSource
{
    private readonly ManifestFolderReader reader = new(folder);
    private FileSystemWatcher? watcher;

    public string Description => "manifests " + folder;

    public bool Ready => true;

    public string? Unreachable => null;

    public long Errors => 0;

    /// <summary>Editors and tools write a file in several steps: wait until it is whole.</summary>
    public Debounce Debounce { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));

    public void Start(Action changed) => watcher = FolderWatcher.Watch(folder, changed);

    public ClusterObjects Read(ICollection<string> problems) => WithProblems(reader.Read(), problems);

    public IReadOnlyDictionary<string, NodeState> Nodes => reader.Nodes;

    public ClusterChanges ReadChanges(ICollection<string> problems) => WithProblems(reader.ReadChanges(), problems);

    private T WithProblems<T>(T reading, ICollection<string> problems)
    {
        foreach (string problem in reader.Problems) problems.Add(problem);
        return reading;
    }

    /// <summary>The folder is the whole truth: there is nothing else to ask.</summary>
    public Policy.PodState? FetchPod(string ns, string name) => null;

    public void Report(Policy.PolicyProblem problem)
    {
    }

    public void Dispose() => watcher?.Dispose();

    public void ReportNode(string node, string problem) { }
}
