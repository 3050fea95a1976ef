using System.Net;
using CniEgress.PolicyAgent.Policy;
using CniEgress.State;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The pods wired on this node, from the CNI plugin's attachment records: known from
/// their ADD, before the API server reports their addresses. Read again and again, so a record
/// is parsed only when its file is new or changed.</summary>
public sealed class LocalAttachments(AttachmentStore store)
{
    private Dictionary<string, (FileStamp Stamp, LocalPod? Pod)> files = new(StringComparer.Ordinal);

    /// <summary>The attachment's pod as the last <see cref="Read"/> found its record; null when unreadable or gone.</summary>
    public LocalPod? Find(string containerId, string ifName) => files.TryGetValue(store.PathOf(containerId, ifName), out var file) ? file.Pod : null;

    public IReadOnlyDictionary<string, LocalPod> Read()
    {
        var pods = new SortedDictionary<string, LocalPod>(StringComparer.Ordinal);
        var next = new Dictionary<string, (FileStamp, LocalPod?)>(StringComparer.Ordinal);
        if (Directory.Exists(store.Directory))
        {
            foreach (string file in Directory.EnumerateFiles(store.Directory))
            {
                if (CniEgress.Files.AtomicFile.IsTemporary(file)) continue;
                var stamp = FileStamp.Take(file);
                if (!files.TryGetValue(file, out var known) || !known.Stamp.Unchanged(stamp))
                    known = (stamp, AttachmentStore.TryLoad(file) is { } record ? Of(record) : null);
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
