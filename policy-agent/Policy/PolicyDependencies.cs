namespace CniEgress.PolicyAgent.Policy;

/// <summary>Which policies a pod or namespace change could touch, so that a change looks at those
/// and not at every policy: selector peers of a policy's own namespace are indexed by that
/// namespace, peers with a namespace selector by nothing (any namespace's labels may match), and
/// named ports of egress rules open to ipBlocks by port name (any pod declaring it may resolve one).</summary>
internal sealed class PolicyDependencies
{
    private readonly Dictionary<string, HashSet<string>> byOwnNamespace = new(StringComparer.Ordinal);
    private readonly HashSet<string> withNamespaceSelectors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> byPortName = new(StringComparer.Ordinal);

    public void Add(PolicySide policy)
    {
        foreach (var (index, value) in Entries(policy)) Of(index, value).Add(policy.Key);
    }

    public void Remove(PolicySide policy)
    {
        foreach (var (index, value) in Entries(policy)) Of(index, value).Remove(policy.Key);
    }

    /// <summary>Policies whose expansion may read this pod (a superset; the caller checks each).</summary>
    public IEnumerable<string> OnPod(PodState? pod)
    {
        if (pod == null) return [];
        var candidates = withNamespaceSelectors.Concat(byOwnNamespace.GetValueOrDefault(pod.Namespace) ?? []);
        foreach (var port in pod.Ports)
            if (!string.IsNullOrEmpty(port.Name) && byPortName.TryGetValue(port.Name, out var named))
                candidates = candidates.Concat(named);
        return candidates;
    }

    /// <summary>Policies whose expansion may read a namespace's labels.</summary>
    public IEnumerable<string> OnNamespaceLabels() => withNamespaceSelectors;

    /// <summary>An egress rule whose named ports resolve against pods by address: open to ipBlocks
    /// or to everywhere. (An ingress rule's named ports resolve against the selected pod itself.)</summary>
    public static bool ResolvesNamedPortsByAddress(PolicySide policy, PolicyRule rule) =>
        policy.Direction == Direction.Egress && rule.Ports?.OfType<NamedPort>().Any() == true && (rule.Peers == null || rule.Peers.OfType<IpBlockPeer>().Any());

    private enum Index { OwnNamespace, NamespaceSelector, PortName }

    private static IEnumerable<(Index, string)> Entries(PolicySide policy)
    {
        foreach (var rule in policy.Rules)
        {
            foreach (var peer in rule.Peers?.OfType<SelectorPeer>() ?? [])
                yield return peer.Namespaces == null ? (Index.OwnNamespace, peer.PolicyNamespace) : (Index.NamespaceSelector, "");
            if (ResolvesNamedPortsByAddress(policy, rule))
                foreach (var named in rule.Ports!.OfType<NamedPort>()) yield return (Index.PortName, named.Name);
        }
    }

    private HashSet<string> Of(Index index, string value) => index switch
    {
        Index.NamespaceSelector => withNamespaceSelectors,
        Index.OwnNamespace => Bucket(byOwnNamespace, value),
        _ => Bucket(byPortName, value),
    };

    private static HashSet<string> Bucket(Dictionary<string, HashSet<string>> index, string value)
    {
        if (!index.TryGetValue(value, out var bucket)) index[value] = bucket = new(StringComparer.Ordinal);
        return bucket;
    }
}
