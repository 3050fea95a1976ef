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
    private readonly HashSet<string> dirtyNamespaces = new(StringComparer.Ordinal), dirtyPods = new(StringComparer.Ordinal), dirtyPolicies = new(StringComparer.Ordinal);

    public void ReplaceNamespaces(IEnumerable<V1Namespace> all) => Replace(namespaces, dirtyNamespaces, all.Select(ObjectConversion.Namespace), n => n.Name);
    public void ReplacePods(IEnumerable<V1Pod> all) => Replace(pods, dirtyPods, all.Select(ObjectConversion.Pod), p => ClusterObjects.Key(p.Namespace, p.Name));
    public void ReplacePolicies(IEnumerable<V1NetworkPolicy> all) => Replace(policies, dirtyPolicies, all.Select(Slim), p => Key(p.Metadata));

    public void Namespace(bool deleted, V1Namespace ns) => Apply(namespaces, dirtyNamespaces, deleted, ObjectConversion.Namespace(ns), n => n.Name);
    /// <returns>The pod as the cache now holds it (reduced to what the compiler reads).</returns>
    public PodState Pod(bool deleted, V1Pod pod) => Apply(pods, dirtyPods, deleted, ObjectConversion.Pod(pod), p => ClusterObjects.Key(p.Namespace, p.Name));
    public void Policy(bool deleted, V1NetworkPolicy policy) => Apply(policies, dirtyPolicies, deleted, Slim(policy), p => Key(p.Metadata));

    /// <summary>The objects that changed since the last <see cref="Snapshot"/> or call, with
    /// their current state (null: gone): what a watch event touched, not the whole cluster.</summary>
    public ClusterChanges TakeChanges()
    {
        lock (gate)
        {
            var changes = new ClusterChanges(Take(namespaces, dirtyNamespaces), Take(pods, dirtyPods), Take(policies, dirtyPolicies));
            return changes;
        }
    }

    private static List<KeyValuePair<string, T?>> Take<T>(Dictionary<string, T> store, HashSet<string> dirty) where T : class
    {
        var taken = dirty.Select(key => new KeyValuePair<string, T?>(key, store.GetValueOrDefault(key))).ToList();
        dirty.Clear();
        return taken;
    }

    public string? PolicyUid(string key)
    {
        lock (gate) return policies.GetValueOrDefault(key)?.Metadata?.Uid;
    }

    public ClusterObjects Snapshot()
    {
        lock (gate)
        {
            dirtyNamespaces.Clear();
            dirtyPods.Clear();
            dirtyPolicies.Clear();
            return new ClusterObjects(new Dictionary<string, NamespaceState>(namespaces), new Dictionary<string, PodState>(pods), new Dictionary<string, V1NetworkPolicy>(policies));
        }
    }

    /// <summary>A relist: every key before and after counts as changed.</summary>
    private void Replace<T>(Dictionary<string, T> store, HashSet<string> dirty, IEnumerable<T> all, Func<T, string> key)
    {
        var fresh = all.ToList();
        lock (gate)
        {
            dirty.UnionWith(store.Keys);
            store.Clear();
            foreach (var item in fresh) store[key(item)] = item;
            dirty.UnionWith(store.Keys);
        }
    }

    private T Apply<T>(Dictionary<string, T> store, HashSet<string> dirty, bool deleted, T item, Func<T, string> key)
    {
        lock (gate)
        {
            if (deleted) store.Remove(key(item));
            else store[key(item)] = item;
            dirty.Add(key(item));
        }
        return item;
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
