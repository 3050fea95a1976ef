using System.Collections.Immutable;
using CniEgress.Net;
using k8s.Models;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>The compiler kept warm between changes: it is told about one namespace, pod, policy
/// or local pod at a time and recomputes only what that change touches, on each side (egress and
/// ingress share the cluster and the local pods, and each keeps its own classes). Pure: no I/O,
/// clock or client.</summary>
public sealed class PolicyCompilation
{
    private readonly ClusterIndex cluster = new();
    private readonly SortedDictionary<string, IReadOnlyList<PolicyProblem>> problems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LocalPod> localPods = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), HashSet<string>> interfacesOfPod = [];
    // Every local pod's sources in the dataplane's order, changed pod by pod: a build hands it out as it is.
    private ImmutableSortedSet<PodSource> sources = ImmutableSortedSet.Create(PodSource.Order);
    private readonly SideCompilation egress;
    private readonly SideCompilation ingress;

    public PolicyCompilation()
    {
        egress = new SideCompilation(Direction.Egress, cluster, localPods);
        ingress = new SideCompilation(Direction.Ingress, cluster, localPods);
    }

    /// <summary>Pods whose labels are not known yet, in a namespace with policies that isolate them.</summary>
    public static readonly PolicyClass UnknownPodClass = new(PolicyClass.IdFor(["(pod not yet known)"]), ["(pod not yet known)"], [], []);

    /// <summary>Tells every object of a snapshot (policies read on every core).</summary>
    public void Load(ClusterSnapshot snapshot)
    {
        foreach (var ns in snapshot.Namespaces) SetNamespace(ns);
        foreach (var pod in snapshot.Pods) SetPod(pod);
        foreach (var read in snapshot.Policies.AsParallel().AsOrdered().Select(Read).ToList()) SetPolicy(read);
        foreach (var local in snapshot.LocalPods) SetLocalPod(local);
    }

    public void SetNamespace(NamespaceState state) => NamespaceChanged(cluster.SetNamespace(state), state);

    public void RemoveNamespace(string name) => NamespaceChanged(cluster.RemoveNamespace(name), null);

    public void SetPod(PodState pod) => PodChanged(cluster.SetPod(pod), pod);

    public void RemovePod(string ns, string name) => PodChanged(cluster.RemovePod(ns, name), null);

    public void SetPolicy(V1NetworkPolicy policy) => SetPolicy(Read(policy));

    /// <summary>Both sides of a policy and the problems found reading it (pure, so many policies
    /// can be read in parallel). A field both sides share is reported once.</summary>
    public static ReadPolicy Read(V1NetworkPolicy policy)
    {
        var found = new List<PolicyProblem>();
        var egressSide = PolicyReader.Read(policy, Direction.Egress, found);
        var ingressSide = PolicyReader.Read(policy, Direction.Ingress, found);
        return new ReadPolicy(egressSide, ingressSide, found.Distinct().ToList());
    }

    public void SetPolicy(ReadPolicy read)
    {
        problems.Remove(read.Egress.Key);
        if (read.Problems.Count > 0) problems[read.Egress.Key] = read.Problems;
        egress.SetPolicy(read.Egress);
        ingress.SetPolicy(read.Ingress);
    }

    public void RemovePolicy(string ns, string name)
    {
        string key = $"{ns}/{name}";
        problems.Remove(key);
        egress.RemovePolicy(key);
        ingress.RemovePolicy(key);
    }

    public void SetLocalPod(LocalPod local)
    {
        RemoveLocalPod(local.HostInterface);
        localPods[local.HostInterface] = local;
        var pod = (local.Namespace, local.Name);
        if (!interfacesOfPod.TryGetValue(pod, out var interfaces)) interfacesOfPod[pod] = interfaces = new(StringComparer.Ordinal);
        interfaces.Add(local.HostInterface);
        sources = sources.Union(local.Addresses.Select(a => new PodSource(local.HostInterface, a)));
        InterfaceChanged(local.HostInterface);
    }

    public void RemoveLocalPod(string hostInterface)
    {
        if (!localPods.Remove(hostInterface, out var local)) return;
        var pod = (local.Namespace, local.Name);
        if (interfacesOfPod.TryGetValue(pod, out var interfaces) && interfaces.Remove(hostInterface) && interfaces.Count == 0)
            interfacesOfPod.Remove(pod);
        sources = sources.Except(local.Addresses.Select(a => new PodSource(hostInterface, a)));
        InterfaceChanged(hostInterface);
    }

    /// <summary>Why the policies told so far allow or deny one flow, rule by rule, on one side:
    /// out of pod <paramref name="ns"/>/<paramref name="name"/> to <paramref name="peer"/> (egress),
    /// or into it from <paramref name="peer"/> (ingress).</summary>
    /// <param name="port">Null: which ports the rules open.</param>
    public PolicyExplanation Explain(Direction direction, string ns, string name, System.Net.IPAddress peer, byte protocol, int? port) =>
        PolicyExplainer.Explain(cluster, (direction == Direction.Egress ? egress : ingress).IsolatingIn(ns), direction, ns, name, peer, protocol, port);

    /// <summary>The local pods told so far, by host interface.</summary>
    public IReadOnlyDictionary<string, LocalPod> LocalPods => localPods;

    /// <summary>The addresses of a pod's local attachments (by host interface), none when it has none here.</summary>
    public IReadOnlyList<System.Net.IPAddress> LocalAddressesOf(string ns, string name) =>
        interfacesOfPod.TryGetValue((ns, name), out var interfaces)
            ? [.. interfaces.Order(StringComparer.Ordinal).SelectMany(i => localPods[i].Addresses)]
            : [];

    /// <summary>The cluster's copy of a pod (null until a source reports it).</summary>
    public PodState? Pod(string ns, string name) => cluster.Pod(ns, name);

    /// <summary>The pod that has <paramref name="address"/> (a scan; for the debug CLI).</summary>
    public PodState? PodWithAddress(System.Net.IPAddress address) => cluster.PodWithAddress(address);

    /// <summary>The desired dataplane for everything told so far; classes nothing touched since
    /// the previous call are the same objects as then.</summary>
    public DesiredDataplane Build()
    {
        var (egressClassOf, egressClasses) = egress.Build();
        var (ingressClassOf, ingressClasses) = ingress.Build();
        return new DesiredDataplane(sources, egressClassOf, egressClasses, problems.Values.SelectMany(p => p).ToList())
        {
            Ingress = new IngressClasses(ingressClassOf, ingressClasses),
        };
    }

    private void InterfaceChanged(string hostInterface)
    {
        egress.InterfaceChanged(hostInterface);
        ingress.InterfaceChanged(hostInterface);
    }

    private void NamespaceChanged(NamespaceState? before, NamespaceState? after)
    {
        egress.NamespaceChanged(before, after);
        ingress.NamespaceChanged(before, after);
    }

    private void PodChanged(PodState? before, PodState? after)
    {
        var pod = before ?? after;
        if (pod == null) return;
        var interfaces = interfacesOfPod.GetValueOrDefault((pod.Namespace, pod.Name));
        egress.PodChanged(before, after, interfaces);
        ingress.PodChanged(before, after, interfaces);
    }
}

/// <summary>Both sides of one policy, as <see cref="PolicyCompilation.Read"/> found them.</summary>
public sealed record ReadPolicy(PolicySide Egress, PolicySide Ingress, IReadOnlyList<PolicyProblem> Problems);
