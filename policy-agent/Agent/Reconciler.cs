using System.Text;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using CniEgress.PolicyAgent.Sources;
using k8s.Models;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>Keeps the kernel at what the sources say: each reading is compared with the previous
/// one object by object, only the changed objects are told to the compiler, and the dataplane
/// applies the difference (a full sync the first time).</summary>
/// <param name="dataplane">Null: compile only (the debug CLI's offline view, which must never write).</param>
public sealed class Reconciler(NftDataplane? dataplane, Action<string> log, Action<PolicyProblem>? report = null)
{
    private readonly PolicyCompilation compilation = new();
    // The cluster as last applied; owned here, changed in place by watch events.
    private Dictionary<string, NamespaceState> namespaces = new(StringComparer.Ordinal);
    private Dictionary<string, PodState> pods = new(StringComparer.Ordinal);
    private Dictionary<string, V1NetworkPolicy> policies = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, LocalPod> local = new Dictionary<string, LocalPod>();
    private HashSet<string> reportedProblems = new(StringComparer.Ordinal);
    private bool synced;

    /// <summary>Where each class sits in the table (for logs and the CLI).</summary>
    public Nftables.SlotPools? Slots => dataplane?.Slots;

    /// <summary>The compiler's state, for the debug CLI's questions (explain).</summary>
    public PolicyCompilation Compilation => compilation;

    /// <summary>What the kernel was last told to hold.</summary>
    public DesiredDataplane? Desired { get; private set; }

    public int FullSyncs { get; private set; }
    public int IncrementalUpdates { get; private set; }

    /// <summary>The local pods as last applied, by host interface.</summary>
    public IReadOnlyDictionary<string, LocalPod> Local => local;

    /// <summary>Applies a new reading; returns how many objects changed.</summary>
    public int Apply(ClusterObjects next, IReadOnlyDictionary<string, LocalPod> nextLocal)
    {
        var byPod = new Lazy<Dictionary<string, List<System.Net.IPAddress>>>(() => AddressesByPod(nextLocal));
        int changes = 0;
        changes += Changes(namespaces, next.Namespaces, Describe, compilation.SetNamespace, compilation.RemoveNamespace);
        changes += Changes(pods, next.Pods, Describe, p => compilation.SetPod(WithLocalAddresses(p, byPod)), key => compilation.RemovePod(Namespace(key), Name(key)));
        changes += Changes(policies, next.Policies, p => k8s.KubernetesJson.Serialize(p), compilation.SetPolicy, key => compilation.RemovePolicy(Namespace(key), Name(key)));
        namespaces = new(next.Namespaces, StringComparer.Ordinal);
        pods = new(next.Pods, StringComparer.Ordinal);
        policies = new(next.Policies, StringComparer.Ordinal);
        return ApplyLocal(nextLocal, changes);
    }

    /// <summary>True once a whole reading has been applied; from then on a source's changes alone will do.</summary>
    public bool HasCluster => synced;

    public int PolicyCount => policies.Count;

    /// <summary>True when a source has reported the pod.</summary>
    public bool KnowsPod(string ns, string name) => pods.ContainsKey(ClusterObjects.Key(ns, name));

    /// <summary>Only the objects a source says changed (watch events): the cost follows the
    /// change, not the size of the cluster.</summary>
    public int ApplyChanges(ClusterChanges changed, IReadOnlyDictionary<string, LocalPod> nextLocal)
    {
        int changes = 0;
        var byPod = new Lazy<Dictionary<string, List<System.Net.IPAddress>>>(() => AddressesByPod(nextLocal));
        foreach (var (key, ns) in changed.Namespaces)
            changes += One(namespaces, key, ns, Describe, compilation.SetNamespace, compilation.RemoveNamespace);
        foreach (var (key, pod) in changed.Pods)
            changes += One(pods, key, pod, Describe, p => compilation.SetPod(WithLocalAddresses(p, byPod)), k => compilation.RemovePod(Namespace(k), Name(k)));
        foreach (var (key, policy) in changed.Policies)
            changes += One(policies, key, policy, p => k8s.KubernetesJson.Serialize(p), compilation.SetPolicy, k => compilation.RemovePolicy(Namespace(k), Name(k)));
        return ApplyLocal(nextLocal, changes);
    }

    private static int One<T>(Dictionary<string, T> current, string key, T? next, Func<T, string> describe, Action<T> set, Action<string> remove) where T : class
    {
        if (next == null)
        {
            if (!current.Remove(key)) return 0;
            remove(key);
            return 1;
        }
        if (current.TryGetValue(key, out var old) && describe(old) == describe(next)) return 0;
        current[key] = next;
        set(next);
        return 1;
    }

    /// <summary>New local pods only (a CNI ADD announcing its pod), whatever the size of the
    /// cluster: the same map as last time is passed over, and an unchanged pod (the same object)
    /// costs a lookup. A pod whose source gives no addresses (not yet reported, or offline
    /// manifests) has those of its attachments, and loses them with its attachments.</summary>
    public int ApplyLocal(IReadOnlyDictionary<string, LocalPod> nextLocal, int clusterChanges = 0)
    {
        var moved = new HashSet<string>(StringComparer.Ordinal); // pods whose attachments came, went or changed
        int changes = clusterChanges + (ReferenceEquals(nextLocal, local) ? 0 : Changes(local, nextLocal, Describe,
            pod => { compilation.SetLocalPod(pod); moved.Add(ClusterObjects.Key(pod.Namespace, pod.Name)); },
            hostInterface => { moved.Add(ClusterObjects.Key(local[hostInterface].Namespace, local[hostInterface].Name)); compilation.RemoveLocalPod(hostInterface); }));
        foreach (string key in moved)
            if (pods.TryGetValue(key, out var known) && known.Addresses.Count == 0)
                compilation.SetPod(known with { Addresses = compilation.LocalAddressesOf(known.Namespace, known.Name) });
        local = nextLocal;
        if (changes == 0 && synced) return 0;
        var desired = compilation.Build();
        Desired = desired;
        ReportProblems(desired);
        if (dataplane == null)
        {
            synced = true;
        }
        else if (!synced)
        {
            dataplane.FullSync(desired);
            synced = true;
            FullSyncs++;
        }
        else if (dataplane.Update(desired))
        {
            IncrementalUpdates++;
        }
        else
        {
            FullSyncs++;
        }
        return changes;
    }

    /// <summary>Rewrites the whole table from the current state (drift repair).</summary>
    public void Resync()
    {
        Desired = compilation.Build();
        dataplane?.FullSync(Desired);
        synced = true;
        FullSyncs++;
    }

    /// <summary>Offline manifests rarely carry status.podIPs: a local pod's addresses come from its attachment.</summary>
    private static PodState WithLocalAddresses(PodState pod, Lazy<Dictionary<string, List<System.Net.IPAddress>>> byPod) =>
        pod.Addresses.Count == 0 && byPod.Value.TryGetValue(ClusterObjects.Key(pod.Namespace, pod.Name), out var addresses) ? pod with { Addresses = addresses } : pod;

    private static Dictionary<string, List<System.Net.IPAddress>> AddressesByPod(IReadOnlyDictionary<string, LocalPod> localPods) =>
        localPods.Values.GroupBy(l => ClusterObjects.Key(l.Namespace, l.Name)).ToDictionary(g => g.Key, g => g.SelectMany(l => l.Addresses).ToList());

    private static int Changes<T>(IReadOnlyDictionary<string, T> before, IReadOnlyDictionary<string, T> after,
        Func<T, string> describe, Action<T> set, Action<string> remove)
    {
        int changes = 0;
        foreach (var (key, value) in after)
        {
            if (before.TryGetValue(key, out var old) && (ReferenceEquals(old, value) || describe(old) == describe(value))) continue;
            set(value);
            changes++;
        }
        foreach (string key in before.Keys.Where(k => !after.ContainsKey(k)).ToList())
        {
            remove(key);
            changes++;
        }
        return changes;
    }

    private void ReportProblems(DesiredDataplane desired)
    {
        var now = desired.Problems.ToDictionary(p => p.ToString(), StringComparer.Ordinal);
        foreach (var (text, problem) in now.Where(p => !reportedProblems.Contains(p.Key)))
        {
            log("policy problem (its pods allow nothing through it): " + text);
            report?.Invoke(problem);
        }
        reportedProblems = now.Keys.ToHashSet(StringComparer.Ordinal);
    }

    private static string Namespace(string key) => key[..key.IndexOf('/', StringComparison.Ordinal)];
    private static string Name(string key) => key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];

    private static string Describe(NamespaceState ns) => ns.Name + Labels(ns.Labels);
    private static string Describe(PodState pod) =>
        $"{pod.Namespace}/{pod.Name}{Labels(pod.Labels)} {string.Join(',', pod.Addresses)} {string.Join(',', pod.Ports.Select(p => $"{p.Name}:{p.Port}/{p.Protocol}"))}";
    private static string Describe(LocalPod pod) => $"{pod.Namespace}/{pod.Name} {pod.HostInterface} {string.Join(',', pod.Addresses)}";

    private static string Labels(IReadOnlyDictionary<string, string> labels)
    {
        var text = new StringBuilder("{");
        foreach (var (key, value) in labels.OrderBy(kv => kv.Key, StringComparer.Ordinal)) text.Append(key).Append('=').Append(value).Append(',');
        return text.Append('}').ToString();
    }
}
