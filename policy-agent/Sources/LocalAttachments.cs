using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using CniEgress.Files;
using CniEgress.PolicyAgent.Policy;
using CniEgress.State;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The pods wired on this node, from the CNI plugin's attachment records: known from
/// their ADD, before the API server reports their addresses. Read again after every ADD and DEL,
/// so a reading costs what changed, not what is there:
/// - while <see cref="Watch"/> is on, only the records the folder's events named are examined
///   (the whole folder again after a lost event, and every <see cref="FullScanInterval"/>);
/// - a record is parsed only when its file holds a new version: the plugin replaces records by
///   rename, so a new version is a new inode, and one lstat tells;
/// - the pods are kept as an immutable map changed entry by entry, so a reading that found
///   nothing new returns the very map it returned before, and an unchanged pod is the same object
///   (the reconciler passes over both without comparing them).</summary>
public sealed class LocalAttachments(AttachmentStore store)
{
    /// <summary>How often the whole folder is listed even while events name every change: a
    /// guard against an event the kernel or the watcher dropped without saying so.</summary>
    public static readonly TimeSpan FullScanInterval = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (FileVersion Version, LocalPod? Pod)> files = new(StringComparer.Ordinal);
    private readonly HashSet<string> named = new(StringComparer.Ordinal); // guarded by itself
    private readonly Stopwatch sinceFullScan = new();
    private ImmutableSortedDictionary<string, LocalPod> pods = ImmutableSortedDictionary.Create<string, LocalPod>(StringComparer.Ordinal);
    private bool watched, everythingChanged = true; // guarded by named

    /// <summary>The attachment's pod as the last <see cref="Read"/> found its record; null when unreadable or gone.</summary>
    public LocalPod? Find(string containerId, string ifName) => files.TryGetValue(store.PathOf(containerId, ifName), out var file) ? file.Pod : null;

    /// <summary>Follows the folder's events from now on and calls <paramref name="changed"/> on
    /// each; null (and every reading a full one) when the folder does not exist.</summary>
    public FileSystemWatcher? Watch(Action changed)
    {
        var watcher = FolderWatcher.Watch(store.Directory, path => { Touched(path); changed(); });
        lock (named) watched = watcher != null;
        return watcher;
    }

    /// <summary>The record at <paramref name="path"/> may have changed (null: anything may have).</summary>
    public void Touched(string? path)
    {
        lock (named)
        {
            if (path == null) everythingChanged = true;
            else named.Add(path);
        }
    }

    /// <summary>The attachment's record may have changed.</summary>
    public void Touched(string containerId, string ifName) => Touched(store.PathOf(containerId, ifName));

    public IReadOnlyDictionary<string, LocalPod> Read()
    {
        List<string>? paths = null;
        lock (named)
        {
            if (watched && !everythingChanged && sinceFullScan.IsRunning && sinceFullScan.Elapsed < FullScanInterval) paths = [.. named];
            named.Clear();
            everythingChanged = false;
        }
        if (paths == null) ScanEverything();
        else foreach (string path in paths) Examine(path);
        return pods;
    }

    private void ScanEverything()
    {
        sinceFullScan.Restart();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(store.Directory))
            foreach (string file in Directory.EnumerateFiles(store.Directory))
                if (listed.Add(file)) Examine(file);
        foreach (string gone in files.Keys.Where(f => !listed.Contains(f)).ToList()) Forget(gone);
    }

    private void Examine(string file)
    {
        if (CniEgress.Files.AtomicFile.IsTemporary(file) || Path.GetDirectoryName(file) != store.Directory) return;
        // The version before the contents: a write in between shows up as a new version next time.
        FileVersion? version;
        try { version = FileVersion.Of(file); }
        catch (IOException) { version = default(FileVersion); } // unexaminable: read it again every time
        if (version is not { } current)
        {
            Forget(file);
            return;
        }
        if (files.TryGetValue(file, out var known) && known.Version == current && current != default) return;
        var pod = AttachmentStore.TryLoad(file) is { } record ? Of(record) : null;
        files[file] = (current, pod);
        if (pod != null) pods = pods.SetItem(pod.HostInterface, pod);
        if (known.Pod is { } previous && previous.HostInterface != pod?.HostInterface) Unlist(previous);
    }

    private void Forget(string file)
    {
        if (files.Remove(file, out var known) && known.Pod is { } pod) Unlist(pod);
    }

    /// <summary>A record's pod is gone from it. Another record may claim the same interface: only
    /// this pod leaves the map, and the other takes its place.</summary>
    private void Unlist(LocalPod pod)
    {
        if (!pods.TryGetValue(pod.HostInterface, out var listed) || !ReferenceEquals(listed, pod)) return;
        pods = files.Values.Select(f => f.Pod).FirstOrDefault(p => p?.HostInterface == pod.HostInterface) is { } other
            ? pods.SetItem(pod.HostInterface, other)
            : pods.Remove(pod.HostInterface);
    }

    public static LocalPod Of(AttachmentRecord record)
    {
        var addresses = record.Addresses.Select(a => a.Split('/')[0])
            .Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().ToList();
        return new LocalPod(record.PodNamespace ?? "", record.PodName ?? record.ContainerId, record.HostInterface, addresses);
    }
}
