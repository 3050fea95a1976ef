using System.Collections.Immutable;
using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>One direction of the warm compiler: the classes of the local pods that policies
/// isolate for that direction, recomputed only where a change touches them. Every class object
/// nothing touched is reused as it was, so a dataplane can tell what changed by reference. The
/// cluster and the local pods belong to the <see cref="PolicyCompilation"/> that owns both sides.</summary>
internal sealed class SideCompilation(Direction direction, ClusterIndex cluster, IReadOnlyDictionary<string, LocalPod> localPods)
{
    private readonly Dictionary<string, PolicySide> isolating = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<string, PolicySide>> isolatingByNamespace = new(StringComparer.Ordinal);

    private readonly HashSet<string> dirtyInterfaces = new(StringComparer.Ordinal);
    // Immutable and changed entry by entry: a build hands it out as it is, at no cost per pod.
    private ImmutableSortedDictionary<string, string> classOf = ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);
    private readonly Dictionary<string, int> membersOfClass = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> policiesOfClass = new(StringComparer.Ordinal);
    // Ingress classes whose policies open named ports: the ports of their pods (the same for every member).
    private readonly Dictionary<string, IReadOnlyList<ContainerPortState>> podPortsOfClass = new(StringComparer.Ordinal);

    private readonly Dictionary<string, PolicyExpansion> expansions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PolicyClass> classes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> classesOfPolicy = new(StringComparer.Ordinal);
    private readonly PolicyDependencies dependencies = new();
    private readonly HashSet<string> maybeOrphaned = new(StringComparer.Ordinal);

    /// <summary>The policies of <paramref name="ns"/> that isolate pods for this direction.</summary>
    public IEnumerable<PolicySide> IsolatingIn(string ns) => (IEnumerable<PolicySide>?)isolatingByNamespace.GetValueOrDefault(ns)?.Values ?? [];

    public void SetPolicy(PolicySide read)
    {
        RemovePolicy(read.Key);
        if (!read.Isolates) return;
        isolating[read.Key] = read;
        if (!isolatingByNamespace.TryGetValue(read.Namespace, out var inNamespace))
            isolatingByNamespace[read.Namespace] = inNamespace = new(StringComparer.Ordinal);
        inNamespace[read.Key] = read;
        dependencies.Add(read);
        MarkNamespaceDirty(read.Namespace);
    }

    public void RemovePolicy(string key)
    {
        if (!isolating.Remove(key, out var previous)) return;
        var inNamespace = isolatingByNamespace[previous.Namespace];
        inNamespace.Remove(key);
        if (inNamespace.Count == 0) isolatingByNamespace.Remove(previous.Namespace);
        dependencies.Remove(previous);
        Invalidate(key);
        MarkNamespaceDirty(previous.Namespace);
    }

    /// <summary>A local pod came, went or changed: its class is assigned again at the next build.</summary>
    public void InterfaceChanged(string hostInterface) => dirtyInterfaces.Add(hostInterface);

    public void NamespaceChanged(NamespaceState? before, NamespaceState? after)
    {
        foreach (string key in dependencies.OnNamespaceLabels().Where(expansions.ContainsKey).ToList())
            if (Peers(isolating[key]).Any(p => p.Namespaces != null
                && ((before != null && p.Namespaces.Matches(before.Labels)) || (after != null && p.Namespaces.Matches(after.Labels)))))
                Invalidate(key);
    }

    /// <param name="interfaces">The pod's own host interfaces, when it is local.</param>
    public void PodChanged(PodState? before, PodState? after, IEnumerable<string>? interfaces)
    {
        if (interfaces != null) dirtyInterfaces.UnionWith(interfaces);
        var candidates = dependencies.OnPod(before).Concat(dependencies.OnPod(after)).Where(expansions.ContainsKey).Distinct().ToList();
        foreach (string key in candidates)
            if (DependsOn(isolating[key], before) || DependsOn(isolating[key], after))
                Invalidate(key);
    }

    /// <summary>The class of every isolated local pod, and those classes; classes nothing touched
    /// since the previous call are the same objects as then.</summary>
    public (IReadOnlyDictionary<string, string> ClassOf, SortedDictionary<string, PolicyClass> Classes) Build()
    {
        foreach (string hostInterface in dirtyInterfaces) AssignClass(hostInterface);
        dirtyInterfaces.Clear();

        BuildMissingClasses();
        var inUse = new SortedDictionary<string, PolicyClass>(StringComparer.Ordinal);
        foreach (string id in membersOfClass.Keys) inUse.Add(id, classes[id]);
        ForgetUnused(inUse);
        foreach (string key in maybeOrphaned)
            if (classesOfPolicy.GetValueOrDefault(key) is not { Count: > 0 }) expansions.Remove(key);
        maybeOrphaned.Clear();
        return (classOf, inUse);
    }

    private void MarkNamespaceDirty(string ns)
    {
        foreach (var local in localPods.Values)
            if (local.Namespace == ns) dirtyInterfaces.Add(local.HostInterface);
    }

    /// <summary>Whether <paramref name="policy"/>'s expansion reads <paramref name="pod"/>: a
    /// selector peer picks it, or a named port of an egress rule open to ipBlocks (or to
    /// everywhere) could resolve against its container ports.</summary>
    private bool DependsOn(PolicySide policy, PodState? pod)
    {
        if (pod == null) return false;
        foreach (var rule in policy.Rules)
        {
            if (rule.Peers?.OfType<SelectorPeer>().Any(peer => cluster.Selects(peer, pod)) == true) return true;
            if (PolicyDependencies.ResolvesNamedPortsByAddress(policy, rule)
                && rule.Ports!.OfType<NamedPort>().Any(named => pod.Ports.Any(p => p.Name == named.Name))) return true;
        }
        return false;
    }

    private static IEnumerable<SelectorPeer> Peers(PolicySide policy) =>
        policy.Rules.SelectMany(r => r.Peers?.OfType<SelectorPeer>() ?? []);

    private void Invalidate(string policyKey)
    {
        expansions.Remove(policyKey);
        if (!classesOfPolicy.Remove(policyKey, out var ids)) return;
        foreach (string id in ids)
            if (classes.Remove(id, out var built))
                foreach (string member in built.Policies)
                    if (classesOfPolicy.TryGetValue(member, out var others) && others.Remove(id) && others.Count == 0)
                        maybeOrphaned.Add(member);
    }

    private void AssignClass(string hostInterface)
    {
        string? before = classOf.GetValueOrDefault(hostInterface);
        string? after = ClassFor(hostInterface);
        if (before == after) return;
        if (before != null && --membersOfClass[before] == 0) membersOfClass.Remove(before);
        if (after != null) membersOfClass[after] = membersOfClass.GetValueOrDefault(after) + 1;
        classOf = after == null ? classOf.Remove(hostInterface) : classOf.SetItem(hostInterface, after);
    }

    /// <summary>The class of the pod behind <paramref name="hostInterface"/> (null: not isolated), with its policies noted.</summary>
    private string? ClassFor(string hostInterface)
    {
        if (!localPods.TryGetValue(hostInterface, out var local)) return null;
        var candidates = isolatingByNamespace.GetValueOrDefault(local.Namespace);
        if (candidates == null) return null;
        var pod = cluster.Pod(local.Namespace, local.Name);
        if (pod == null)
        {
            // The API server has not told us the pod's labels yet, and a policy could select it:
            // it allows nothing until we know. Fail closed, never a window without policy.
            policiesOfClass[PolicyCompilation.UnknownPodClass.Id] = [];
            return PolicyCompilation.UnknownPodClass.Id;
        }
        var selecting = candidates.Values.Where(p => p.Selects(pod)).ToList();
        if (selecting.Count == 0) return null;
        var keys = selecting.Select(p => p.Key).ToList();
        string id;
        if (direction == Direction.Egress)
        {
            id = PolicyClass.IdFor(keys);
        }
        else if (selecting.Any(p => p.Rules.Any(r => r.Ports?.OfType<NamedPort>().Any() == true)))
        {
            // A named port opens a different number on each pod: the pod's ports are part of its class.
            id = "i" + PolicyClass.IdFor([.. keys, .. pod.Ports.Select(p => $"{p.Name}:{p.Port}/{p.Protocol}")])[1..];
            podPortsOfClass[id] = pod.Ports;
        }
        else
        {
            id = "i" + PolicyClass.IdFor(keys)[1..];
        }
        policiesOfClass[id] = keys;
        return id;
    }

    private void ForgetUnused(SortedDictionary<string, PolicyClass> inUse)
    {
        // A policy no class uses any more keeps no expansion: pod and namespace changes never look at it.
        foreach (string id in classes.Keys.Where(id => !inUse.ContainsKey(id)).ToList())
        {
            classes.Remove(id, out var built);
            foreach (string member in built!.Policies)
                if (classesOfPolicy.TryGetValue(member, out var ids) && ids.Remove(id) && ids.Count == 0)
                {
                    classesOfPolicy.Remove(member);
                    expansions.Remove(member);
                }
        }
        foreach (string id in policiesOfClass.Keys.Where(id => !inUse.ContainsKey(id)).ToList())
        {
            policiesOfClass.Remove(id);
            podPortsOfClass.Remove(id);
        }
    }

    /// <summary>Classes in use but not built: their missing policy expansions first, then each
    /// class's merge. Both only read the cluster, so a large batch (a start, a resync) runs on
    /// every core; a change stays on the calling thread, even one that recomputes a few hundred
    /// expansions (a pod joining their peers): ~1 ms of work, which handing it to the thread pool
    /// made no faster and spiky (p99 5-7 ms -> 2.6-3.4 ms at the largest benchmark size).</summary>
    private void BuildMissingClasses()
    {
        var missing = membersOfClass.Keys.Where(id => !classes.ContainsKey(id)).ToList();
        if (missing.Count == 0) return;
        var keys = missing.SelectMany(id => policiesOfClass[id]).Distinct(StringComparer.Ordinal).Where(k => !expansions.ContainsKey(k)).ToList();
        foreach (var (key, expansion) in InParallel(keys, 1024, key => PolicyExpansion.Of(isolating[key], cluster)))
            expansions[key] = expansion;
        foreach (var (id, built) in InParallel(missing, 4, BuildClass))
        {
            classes[id] = built;
            foreach (string key in built.Policies)
            {
                if (id == PolicyCompilation.UnknownPodClass.Id) break;
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
    private PolicyClass BuildClass(string id)
    {
        if (id == PolicyCompilation.UnknownPodClass.Id) return PolicyCompilation.UnknownPodClass;
        var keys = policiesOfClass[id];
        var podPorts = podPortsOfClass.GetValueOrDefault(id);
        var anyTraffic = ScratchList<AddressRange>.Rent(keys.Sum(k => expansions[k].AnyTraffic.Length));
        var boxes = ScratchList<PortBox>.Rent(keys.Sum(k => expansions[k].Ports.Length));
        foreach (string key in keys)
        {
            var expansion = expansions[key];
            anyTraffic.AddRange(expansion.AnyTraffic);
            boxes.AddRange(expansion.Ports);
            if (podPorts != null) boxes.AddRange(expansion.NamedPortBoxes(podPorts));
        }
        var built = new PolicyClass(id, keys, [.. AddressRange.MergeInPlace(anyTraffic)], DisjointBoxes.NormalizeInPlace(boxes));
        ScratchList<AddressRange>.Return(anyTraffic);
        ScratchList<PortBox>.Return(boxes);
        return built;
    }
}
