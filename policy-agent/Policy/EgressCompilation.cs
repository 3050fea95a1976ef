using CniEgress.Net;
using k8s.Models;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>The compiler kept warm between changes: it is told about one namespace, pod, policy
/// or local pod at a time and recomputes only what that change touches: the classes of the local
/// pods it may move, and the expansions of the policies whose peers it may match. Everything else
/// (and every <see cref="EgressClass"/> object it does not touch) is reused as it was, so a
/// dataplane can tell what changed by reference. Pure: no I/O, clock or client.</summary>
public sealed class EgressCompilation
{
    private readonly ClusterIndex cluster = new();
    private readonly Dictionary<string, EgressPolicy> isolating = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<string, EgressPolicy>> isolatingByNamespace = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, IReadOnlyList<PolicyProblem>> problems = new(StringComparer.Ordinal);

    private readonly Dictionary<string, LocalPod> localPods = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), HashSet<string>> interfacesOfPod = [];
    private readonly HashSet<string> dirtyInterfaces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> classOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> policiesOfClass = new(StringComparer.Ordinal);

    private readonly Dictionary<string, PolicyExpansion> expansions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EgressClass> classes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> classesOfPolicy = new(StringComparer.Ordinal);
    private readonly PolicyDependencies dependencies = new();
    private readonly HashSet<string> maybeOrphaned = new(StringComparer.Ordinal);

    /// <summary>Pods whose labels are not known yet, in a namespace with egress policies.</summary>
    public static readonly EgressClass UnknownPodClass = new(EgressClass.IdFor(["(pod not yet known)"]), ["(pod not yet known)"], [], []);

    /// <summary>Tells every object of a snapshot (policies read on every core).</summary>
    public void Load(ClusterSnapshot snapshot)
    {
        foreach (var ns in snapshot.Namespaces) SetNamespace(ns);
        foreach (var pod in snapshot.Pods) SetPod(pod);
        var read = snapshot.Policies.AsParallel().AsOrdered().Select(policy =>
        {
            var problems = new List<PolicyProblem>();
            return (Policy: PolicyReader.Read(policy, problems), Problems: problems);
        }).ToList();
        foreach (var (policy, problems) in read) SetPolicy(policy, problems);
        foreach (var local in snapshot.LocalPods) SetLocalPod(local);
    }

    public void SetNamespace(NamespaceState state) => NamespaceChanged(cluster.SetNamespace(state), state);

    public void RemoveNamespace(string name) => NamespaceChanged(cluster.RemoveNamespace(name), null);

    public void SetPod(PodState pod) => PodChanged(cluster.SetPod(pod), pod);

    public void RemovePod(string ns, string name) => PodChanged(cluster.RemovePod(ns, name), null);

    public void SetPolicy(V1NetworkPolicy policy)
    {
        var found = new List<PolicyProblem>();
        SetPolicy(PolicyReader.Read(policy, found), found);
    }

    /// <summary>A policy already read (<see cref="PolicyReader"/> is pure, so many can be read in parallel).</summary>
    public void SetPolicy(EgressPolicy read, IReadOnlyList<PolicyProblem> found)
    {
        RemovePolicy(read.Key);
        if (found.Count > 0) problems[read.Key] = found;
        if (!read.IsolatesEgress) return;
        isolating[read.Key] = read;
        if (!isolatingByNamespace.TryGetValue(read.Namespace, out var inNamespace))
            isolatingByNamespace[read.Namespace] = inNamespace = new(StringComparer.Ordinal);
        inNamespace[read.Key] = read;
        dependencies.Add(read);
        MarkNamespaceDirty(read.Namespace);
    }

    public void RemovePolicy(string ns, string name) => RemovePolicy($"{ns}/{name}");

    public void SetLocalPod(LocalPod local)
    {
        RemoveLocalPod(local.HostInterface);
        localPods[local.HostInterface] = local;
        var pod = (local.Namespace, local.Name);
        if (!interfacesOfPod.TryGetValue(pod, out var interfaces)) interfacesOfPod[pod] = interfaces = new(StringComparer.Ordinal);
        interfaces.Add(local.HostInterface);
        dirtyInterfaces.Add(local.HostInterface);
    }

    public void RemoveLocalPod(string hostInterface)
    {
        if (!localPods.Remove(hostInterface, out var local)) return;
        var pod = (local.Namespace, local.Name);
        if (interfacesOfPod.TryGetValue(pod, out var interfaces) && interfaces.Remove(hostInterface) && interfaces.Count == 0)
            interfacesOfPod.Remove(pod);
        dirtyInterfaces.Add(hostInterface);
    }

    /// <summary>Why the policies told so far allow or deny one flow from a pod, rule by rule.</summary>
    /// <param name="port">Null: which ports the rules open to the destination.</param>
    public PolicyExplanation Explain(string ns, string name, System.Net.IPAddress destination, byte protocol, int? port) =>
        EgressExplainer.Explain(cluster, (IEnumerable<EgressPolicy>?)isolatingByNamespace.GetValueOrDefault(ns)?.Values ?? [], ns, name, destination, protocol, port);

    /// <summary>The local pods told so far, by host interface.</summary>
    public IReadOnlyDictionary<string, LocalPod> LocalPods => localPods;

    /// <summary>The cluster's copy of a pod (null until a source reports it).</summary>
    public PodState? Pod(string ns, string name) => cluster.Pod(ns, name);

    /// <summary>The pod that has <paramref name="address"/> (a scan; for the debug CLI).</summary>
    public PodState? PodWithAddress(System.Net.IPAddress address) => cluster.PodWithAddress(address);

    /// <summary>The desired dataplane for everything told so far; classes nothing touched since
    /// the previous call are the same objects as then.</summary>
    public DesiredDataplane Build()
    {
        foreach (string hostInterface in dirtyInterfaces) AssignClass(hostInterface);
        dirtyInterfaces.Clear();

        BuildMissingClasses();
        var inUse = new SortedDictionary<string, EgressClass>(StringComparer.Ordinal);
        foreach (string id in classOf.Values) inUse.TryAdd(id, classes[id]);
        ForgetUnused(inUse);
        foreach (string key in maybeOrphaned)
            if (classesOfPolicy.GetValueOrDefault(key) is not { Count: > 0 }) expansions.Remove(key);
        maybeOrphaned.Clear();

        var sources = localPods.Values.SelectMany(l => l.Addresses.Select(a => new PodSource(l.HostInterface, a))).ToList();
        sources.Sort((a, b) => string.CompareOrdinal(a.HostInterface, b.HostInterface) is var c && c != 0 ? c
            : AddressRange.Host(a.Address).CompareTo(AddressRange.Host(b.Address)));
        return new DesiredDataplane(sources, new SortedDictionary<string, string>(classOf, StringComparer.Ordinal), inUse,
            problems.Values.SelectMany(p => p).ToList());
    }

    private void RemovePolicy(string key)
    {
        problems.Remove(key);
        if (!isolating.Remove(key, out var previous)) return;
        var inNamespace = isolatingByNamespace[previous.Namespace];
        inNamespace.Remove(key);
        if (inNamespace.Count == 0) isolatingByNamespace.Remove(previous.Namespace);
        dependencies.Remove(previous);
        Invalidate(key);
        MarkNamespaceDirty(previous.Namespace);
    }

    private void MarkNamespaceDirty(string ns)
    {
        foreach (var local in localPods.Values)
            if (local.Namespace == ns) dirtyInterfaces.Add(local.HostInterface);
    }

    private void NamespaceChanged(NamespaceState? before, NamespaceState? after)
    {
        foreach (string key in dependencies.OnNamespaceLabels().Where(expansions.ContainsKey).ToList())
            if (Peers(isolating[key]).Any(p => p.Namespaces != null
                && ((before != null && p.Namespaces.Matches(before.Labels)) || (after != null && p.Namespaces.Matches(after.Labels)))))
                Invalidate(key);
    }

    private void PodChanged(PodState? before, PodState? after)
    {
        var pod = before ?? after;
        if (pod == null) return;
        if (interfacesOfPod.TryGetValue((pod.Namespace, pod.Name), out var interfaces)) dirtyInterfaces.UnionWith(interfaces);
        var candidates = dependencies.OnPod(before).Concat(dependencies.OnPod(after)).Where(expansions.ContainsKey).Distinct().ToList();
        foreach (string key in candidates)
            if (DependsOn(isolating[key], before) || DependsOn(isolating[key], after))
                Invalidate(key);
    }

    /// <summary>Whether <paramref name="policy"/>'s expansion reads <paramref name="pod"/>: a
    /// selector peer picks it, or a named port of a rule open to ipBlocks (or to everywhere)
    /// could resolve against its container ports.</summary>
    private bool DependsOn(EgressPolicy policy, PodState? pod)
    {
        if (pod == null) return false;
        foreach (var rule in policy.Rules)
        {
            if (rule.Peers?.OfType<SelectorPeer>().Any(peer => cluster.Selects(peer, pod)) == true) return true;
            if (PolicyDependencies.ResolvesNamedPortsByAddress(rule)
                && rule.Ports!.OfType<NamedPort>().Any(named => pod.Ports.Any(p => p.Name == named.Name))) return true;
        }
        return false;
    }

    private static IEnumerable<SelectorPeer> Peers(EgressPolicy policy) =>
        policy.Rules.SelectMany(r => r.Peers?.OfType<SelectorPeer>() ?? []);

    private void Invalidate(string policyKey)
    {
        expansions.Remove(policyKey);
        if (!classesOfPolicy.Remove(policyKey, out var ids)) return;
        foreach (string id in ids)
            if (classes.Remove(id, out var egress))
                foreach (string member in egress.Policies)
                    if (classesOfPolicy.TryGetValue(member, out var others) && others.Remove(id) && others.Count == 0)
                        maybeOrphaned.Add(member);
    }

    private void AssignClass(string hostInterface)
    {
        classOf.Remove(hostInterface);
        if (!localPods.TryGetValue(hostInterface, out var local)) return;
        var candidates = isolatingByNamespace.GetValueOrDefault(local.Namespace);
        if (candidates == null) return;
        var pod = cluster.Pod(local.Namespace, local.Name);
        if (pod == null)
        {
            // The API server has not told us the pod's labels yet, and an egress policy could
            // select it: it allows nothing until we know. Fail closed, never a window without policy.
            classOf[hostInterface] = UnknownPodClass.Id;
            policiesOfClass[UnknownPodClass.Id] = [];
            return;
        }
        var selecting = candidates.Values.Where(p => p.Selects(pod)).Select(p => p.Key).ToList();
        if (selecting.Count == 0) return;
        string id = EgressClass.IdFor(selecting);
        classOf[hostInterface] = id;
        policiesOfClass[id] = selecting;
    }

    private void ForgetUnused(SortedDictionary<string, EgressClass> inUse)
    {
        // A policy no class uses any more keeps no expansion: pod and namespace changes never look at it.
        foreach (string id in classes.Keys.Where(id => !inUse.ContainsKey(id)).ToList())
        {
            classes.Remove(id, out var egress);
            foreach (string member in egress!.Policies)
                if (classesOfPolicy.TryGetValue(member, out var ids) && ids.Remove(id) && ids.Count == 0)
                {
                    classesOfPolicy.Remove(member);
                    expansions.Remove(member);
                }
        }
        foreach (string id in policiesOfClass.Keys.Where(id => !inUse.ContainsKey(id)).ToList()) policiesOfClass.Remove(id);
    }

    /// <summary>Classes in use but not built: their missing policy expansions first, then each
    /// class's merge. Both only read the cluster, so a large batch (a start, a resync) runs on
    /// every core; a single change stays on the calling thread.</summary>
    private void BuildMissingClasses()
    {
        var missing = classOf.Values.Distinct(StringComparer.Ordinal).Where(id => !classes.ContainsKey(id)).ToList();
        if (missing.Count == 0) return;
        var keys = missing.SelectMany(id => policiesOfClass[id]).Distinct(StringComparer.Ordinal).Where(k => !expansions.ContainsKey(k)).ToList();
        foreach (var (key, expansion) in InParallel(keys, 64, key => PolicyExpansion.Of(isolating[key], cluster)))
            expansions[key] = expansion;
        foreach (var (id, egress) in InParallel(missing, 4, BuildClass))
        {
            classes[id] = egress;
            foreach (string key in egress.Policies)
            {
                if (id == UnknownPodClass.Id) break;
                if (!classesOfPolicy.TryGetValue(key, out var ids)) classesOfPolicy[key] = ids = new(StringComparer.Ordinal);
                ids.Add(id);
            }
        }
    }

    private static List<(string, T)> InParallel<T>(List<string> items, int threshold, Func<string, T> work) =>
        items.Count < threshold
            ? items.Select(i => (i, work(i))).ToList()
            : items.AsParallel().Select(i => (i, work(i))).ToList();

    /// <summary>Pure: reads expansions and the cluster, writes nothing.</summary>
    private EgressClass BuildClass(string id)
    {
        if (id == UnknownPodClass.Id) return UnknownPodClass;
        var keys = policiesOfClass[id];
        var anyTraffic = new List<AddressRange>();
        var boxes = new List<PortBox>();
        foreach (string key in keys)
        {
            var expansion = expansions[key];
            anyTraffic.AddRange(expansion.AnyTraffic);
            boxes.AddRange(expansion.Ports);
        }
        return new EgressClass(id, keys, [.. AddressRange.Merge(anyTraffic)], [.. DisjointBoxes.Normalize(boxes)]);
    }
}
