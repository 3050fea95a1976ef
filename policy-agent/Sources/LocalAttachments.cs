using System.Net;
using CniEgress.PolicyAgent.Policy;
using CniEgress.State;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The pods wired on this node, from the CNI plugin's attachment records: known from
/// their ADD, before the API server reports their addresses.</summary>
public static class LocalAttachments
{
    public static IReadOnlyDictionary<string, LocalPod> Read(AttachmentStore store)
    {
        var pods = new SortedDictionary<string, LocalPod>(StringComparer.Ordinal);
        foreach (var record in store.List()) pods[record.HostInterface] = Of(record);
        return pods;
    }

    public static LocalPod Of(AttachmentRecord record)
    {
        var addresses = record.Addresses.Select(a => a.Split('/')[0])
            .Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>().ToList();
        return new LocalPod(record.PodNamespace ?? "", record.PodName ?? record.ContainerId, record.HostInterface, addresses);
    }
}
