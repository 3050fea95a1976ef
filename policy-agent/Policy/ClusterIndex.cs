using System.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>The cluster's namespaces and pods as the compiler looks them up: by name, by
/// namespace, and by declared port name. Updated one object at a time, so a change costs the
/// same however large the cluster is.</summary>
internal sealed class ClusterIndex
{
    private readonly Dictionary<string, NamespaceState> namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, PodState>> podsByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, string Protocol), Dictionary<(string, string), PodState>> podsByPortName = [];
    private readonly Dictionary<(string Namespace, string Key, string Value), Dictionary<string, PodState>> podsByLabel = [];

    public NamespaceState? Namespace(string name) => namespaces.GetValueOrDefault(name);

    public PodState? Pod(string ns, string name) => podsByNamespace.GetValueOrDefault(ns)?.GetValueOrDefault(name);

    /// <summary>The pod that has <paramref name="address"/>, by a scan: for explaining one flow, not for compiling.</summary>
    public PodState? PodWithAddress(IPAddress address) =>
        podsByNamespace.Values.SelectMany(pods => pods.Values).FirstOrDefault(pod => pod.Addresses.Contains(address));

    /// <summary>Stores <paramref name="state"/> and returns what it replaced.</summary>
    public NamespaceState? SetNamespace(NamespaceState state)
    {
        var previous = Namespace(state.Name);
        namespaces[state.Name] = state;
        return previous;
    }

    public NamespaceState? RemoveNamespace(string name) => namespaces.Remove(name, out var previous) ? previous : null;

    /// <summary>Stores <paramref name="pod"/> and returns what it replaced.</summary>
    public PodState? SetPod(PodState pod)
    {
        var previous = RemovePod(pod.Namespace, pod.Name);
        if (!podsByNamespace.TryGetValue(pod.Namespace, out var pods))
            podsByNamespace[pod.Namespace] = pods = new(StringComparer.Ordinal);
        pods[pod.Name] = pod;
        foreach (var (key, value) in pod.Labels)
        {
            if (!podsByLabel.TryGetValue((pod.Namespace, key, value), out var labelled))
                podsByLabel[(pod.Namespace, key, value)] = labelled = new(StringComparer.Ordinal);
            labelled[pod.Name] = pod;
        }
        foreach (var port in NamedPorts(pod))
        {
            if (!podsByPortName.TryGetValue(port, out var holders)) podsByPortName[port] = holders = [];
            holders[(pod.Namespace, pod.Name)] = pod;
        }
        return previous;
    }

    public PodState? RemovePod(string ns, string name)
    {
        if (!podsByNamespace.TryGetValue(ns, out var pods) || !pods.Remove(name, out var previous)) return null;
        if (pods.Count == 0) podsByNamespace.Remove(ns);
        foreach (var (key, value) in previous.Labels)
            if (podsByLabel.TryGetValue((ns, key, value), out var labelled) && labelled.Remove(name) && labelled.Count == 0)
                podsByLabel.Remove((ns, key, value));
        foreach (var port in NamedPorts(previous))
            if (podsByPortName.TryGetValue(port, out var holders) && holders.Remove((ns, name)) && holders.Count == 0)
                podsByPortName.Remove(port);
        return previous;
    }

    /// <summary>Whether <paramref name="pod"/> is one of the pods <paramref name="peer"/> selects.</summary>
    public bool Selects(SelectorPeer peer, PodState pod)
    {
        bool inNamespace = peer.Namespaces == null
            ? pod.Namespace == peer.PolicyNamespace
            : namespaces.TryGetValue(pod.Namespace, out var ns) && peer.Namespaces.Matches(ns.Labels);
        return inNamespace && (peer.Pods == null || peer.Pods.Matches(pod.Labels));
    }

    public IEnumerable<PodState> SelectedPods(SelectorPeer peer)
    {
        IEnumerable<string> namespaceNames = peer.Namespaces == null
            ? [peer.PolicyNamespace]
            : podsByNamespace.Keys.Where(n => namespaces.TryGetValue(n, out var ns) && peer.Namespaces.Matches(ns.Labels));
        foreach (string name in namespaceNames)
            foreach (var pod in Candidates(name, peer.Pods))
                if (peer.Pods == null || peer.Pods.Matches(pod.Labels)) yield return pod;
    }

    /// <summary>The pods of a namespace that may match: those carrying the selector's rarest
    /// matchLabels pair, or all of them when it has none.</summary>
    private IEnumerable<PodState> Candidates(string ns, LabelSelectorMatcher? selector)
    {
        Dictionary<string, PodState>? fewest = podsByNamespace.GetValueOrDefault(ns);
        foreach (var (key, value) in selector?.RequiredLabels ?? [])
        {
            var labelled = podsByLabel.GetValueOrDefault((ns, key, value));
            if (labelled == null) return [];
            if (fewest == null || labelled.Count < fewest.Count) fewest = labelled;
        }
        return fewest?.Values ?? Enumerable.Empty<PodState>();
    }

    /// <summary>Every (address, port number) of a pod that declares a container port of this name and protocol.</summary>
    public IEnumerable<(IPAddress Address, int Port)> NamedPortTargets(NamedPort port)
    {
        string protocol = ProtocolName(port.Protocol);
        foreach (var pod in podsByPortName.GetValueOrDefault((port.Name, protocol))?.Values ?? Enumerable.Empty<PodState>())
            foreach (var declared in pod.Ports)
                if (declared.Name == port.Name && declared.Protocol == protocol)
                    foreach (var address in pod.Addresses)
                        yield return (address, declared.Port);
    }

    public static string ProtocolName(byte protocol) => protocol switch { Protocols.Udp => "UDP", Protocols.Sctp => "SCTP", _ => "TCP" };

    private static IEnumerable<(string, string)> NamedPorts(PodState pod) =>
        pod.Ports.Where(p => !string.IsNullOrEmpty(p.Name)).Select(p => (p.Name!, p.Protocol)).Distinct();
}
