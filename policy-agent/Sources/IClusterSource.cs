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

    void Start(Action changed);

    ClusterObjects Read(ICollection<string> problems);

    /// <summary>Only what changed since the last <see cref="Read"/> or call, when the source can
    /// tell (the API's watch events); null when it cannot (a folder is read whole).</summary>
    ClusterChanges? ReadChanges();

    /// <summary>Tells the cluster about a policy part that cannot be enforced (an Event on the
    /// policy for the API; the log says it anyway).</summary>
    void Report(Policy.PolicyProblem problem);
}

/// <summary>The manifest folder as a source: read whole on every change.</summary>
public sealed class ManifestSource(string folder) : IClusterSource
{
    private FileSystemWatcher? watcher;

    public string Description => "manifests " + folder;

    public bool Ready => true;

    public string? Unreachable => null;

    public long Errors => 0;

    public void Start(Action changed) => watcher = FolderWatcher.Watch(folder, changed);

    public ClusterObjects Read(ICollection<string> problems) => ManifestFolder.Read(folder, problems);

    public ClusterChanges? ReadChanges() => null;

    public void Report(Policy.PolicyProblem problem)
    {
    }

    public void Dispose() => watcher?.Dispose();
}
