using CniEgress.PolicyAgent.Policy;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The API source's current view, filled by the informers from their threads and read
/// by the main loop. Objects are reduced on arrival (pods to <see cref="PodState"/>, policies
/// without managed fields), so memory follows what the compiler needs.</summary>
public sealed class ClusterCache
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, NamespaceState> namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodState> pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1NetworkPolicy> policies = new(StringComparer.Ordinal);

    public void ReplaceNamespaces(IEnumerable<V1Namespace> all) => Replace(namespaces, all.Select(ObjectConversion.Namespace), n => n.Name);
    public void ReplacePods(IEnumerable<V1Pod> all) => Replace(pods, all.Select(ObjectConversion.Pod), p => ClusterObjects.Key(p.Namespace, p.Name));
    public void ReplacePolicies(IEnumerable<V1NetworkPolicy> all) => Replace(policies, all.Select(Slim), p => Key(p.Metadata));

    public void Namespace(bool deleted, V1Namespace ns) => Apply(namespaces, deleted, ObjectConversion.Namespace(ns), n => n.Name);
    public void Pod(bool deleted, V1Pod pod) => Apply(pods, deleted, ObjectConversion.Pod(pod), p => ClusterObjects.Key(p.Namespace, p.Name));
    public void Policy(bool deleted, V1NetworkPolicy policy) => Apply(policies, deleted, Slim(policy), p => Key(p.Metadata));

    public string? PolicyUid(string key)
    {
        lock (gate) return policies.GetValueOrDefault(key)?.Metadata?.Uid;
    }

    public ClusterObjects Snapshot()
    {
        lock (gate)
            return new ClusterObjects(new Dictionary<string, NamespaceState>(namespaces), new Dictionary<string, PodState>(pods), new Dictionary<string, V1NetworkPolicy>(policies));
    }

    private void Replace<T>(Dictionary<string, T> store, IEnumerable<T> all, Func<T, string> key)
    {
        var fresh = all.ToList();
        lock (gate)
        {
            store.Clear();
            foreach (var item in fresh) store[key(item)] = item;
        }
    }

    private void Apply<T>(Dictionary<string, T> store, bool deleted, T item, Func<T, string> key)
    {
        lock (gate)
        {
            if (deleted) store.Remove(key(item));
            else store[key(item)] = item;
        }
    }

    private static string Key(V1ObjectMeta? meta) => ClusterObjects.Key(meta?.NamespaceProperty ?? "default", meta?.Name ?? "");

    private static V1NetworkPolicy Slim(V1NetworkPolicy policy)
    {
        if (policy.Metadata != null)
        {
            policy.Metadata.ManagedFields = null;
            policy.Metadata.Annotations = null;
        }
        return policy;
    }
}
