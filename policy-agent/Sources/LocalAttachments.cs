using System.Net;
using CniEgress.Files;
using CniEgress.PolicyAgent.Policy;
using CniEgress.State;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The pods wired on this node, from the CNI plugin's attachment records: known from
/// their ADD, before the API server reports their addresses. Read again after every ADD and DEL,
/// so a record is parsed only when its file holds a new version: the plugin replaces records by
/// rename, so a new version is a new inode, and one lstat per record tells (a burst of ADDs
/// parses each record once, not once per ADD that follows it).</summary>
public sealed class LocalAttachments(AttachmentStore store)
{
    private Dictionary<string, (FileVersion Version, LocalPod? Pod)> files = new(StringComparer.Ordinal);

    /// <summary>The attachment's pod as the last <see cref="Read"/> found its record; null when unreadable or gone.</summary>
    public LocalPod? Find(string containerId, string ifName) => files.TryGetValue(store.PathOf(containerId, ifName), out var file) ? file.Pod : null;

    public IReadOnlyDictionary<string, LocalPod> Read()
    {
        var pods = new SortedDictionary<string, LocalPod>(StringComparer.Ordinal);
        var next = new Dictionary<string, (FileVersion, LocalPod?)>(StringComparer.Ordinal);
        if (Directory.Exists(store.Directory))
        {
            foreach (string file in Directory.EnumerateFiles(store.Directory))
            {
                if (CniEgress.Files.AtomicFile.IsTemporary(file)) continue;
                // The version before the contents: a write in between shows up as a new version next time.
                FileVersion? version;
                try { version = FileVersion.Of(file); }
                catch (IOException) { version = default(FileVersion); } // unexaminable: read it again every time
                if (version is not { } current) continue; // deleted since the listing
                if (!files.TryGetValue(file, out var known) || known.Version != current || current == default)
                    known = (current, AttachmentStore.TryLoad(file) is { } record ? Of(record) : null);
                next[file] = known;
                if (known.Pod is { } pod) pods[pod.HostInterface] = pod;
            }
        }
        files = next;
        return pods;
    }

    public static LocalPod Of(AttachmentRecord record)
    {
        var addresses = record.Addresses.Select(a => a.Split('/')[0])
            .Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().ToList();
        return new LocalPod(record.PodNamespace ?? "", record.PodName ?? record.ContainerId, record.HostInterface, addresses);
    }
}
