using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>What one side of a policy allows, as peers open on every port and as (peer,
/// protocol, port range) boxes; computed once however many classes include the policy. Arrays,
/// not lists: one is kept per policy, and list slack alone was 4 MB at 5,000 policies. On the
/// ingress side a named port resolves against the selected pod itself, so it stays a name with
/// its peers (<see cref="NamedPorts"/>) until a class of pods with known ports is built.</summary>
internal sealed record PolicyExpansion(AddressRange[] AnyTraffic, PortBox[] Ports, (NamedPort Port, AddressRange[] Peers)[] NamedPorts)
{
    public static PolicyExpansion Of(PolicySide policy, ClusterIndex cluster)
    {
        var anyTraffic = new List<AddressRange>();
        var boxes = new List<PortBox>();
        var namedPorts = new List<(NamedPort, AddressRange[])>();
        foreach (var rule in policy.Rules)
        {
            // Peers as pods (selector peers) and as ranges (ipBlocks; null = everywhere).
            var pods = rule.Peers?.OfType<SelectorPeer>().SelectMany(cluster.SelectedPods).ToList() ?? [];
            List<AddressRange>? blocks = rule.Peers == null ? null : rule.Peers.OfType<IpBlockPeer>().SelectMany(b => b.Ranges).ToList();
            List<AddressRange> destinations;
            if (blocks == null)
            {
                destinations = [AddressRange.All(false), AddressRange.All(true)];
            }
            else
            {
                // Sized once: policies are recomputed by the hundred when a pod joins their peers.
                destinations = new List<AddressRange>(blocks.Count + pods.Sum(p => p.Addresses.Count));
                destinations.AddRange(blocks);
                foreach (var pod in pods)
                    foreach (var address in pod.Addresses) destinations.Add(AddressRange.Host(address));
            }
            if (rule.Ports == null)
            {
                anyTraffic.AddRange(destinations);
                continue;
            }
            foreach (var port in rule.Ports)
            {
                switch (port)
                {
                    case NumericPort n:
                        boxes.EnsureCapacity(boxes.Count + destinations.Count);
                        foreach (var d in destinations) boxes.Add(new PortBox(d, n.Protocol, n.First, n.Last));
                        break;
                    case NamedPort named when policy.Direction == Direction.Ingress:
                        namedPorts.Add((named, [.. destinations]));
                        break;
                    case NamedPort named:
                        AddNamedPort(boxes, named, pods, blocks, cluster);
                        break;
                }
            }
        }
        return new PolicyExpansion([.. anyTraffic], [.. boxes], [.. namedPorts]);
    }

    /// <summary>The ingress named ports resolved against one selected pod's container ports.</summary>
    public IEnumerable<PortBox> NamedPortBoxes(IReadOnlyList<ContainerPortState> podPorts)
    {
        foreach (var (named, peers) in NamedPorts)
        {
            string protocol = ClusterIndex.ProtocolName(named.Protocol);
            foreach (var declared in podPorts)
                if (declared.Name == named.Name && declared.Protocol == protocol)
                    foreach (var peer in peers) yield return new PortBox(peer, named.Protocol, (ushort)declared.Port, (ushort)declared.Port);
        }
    }

    /// <summary>An egress named port resolves per destination pod against its own container ports (name
    /// and protocol); for an ipBlock peer, against every pod whose address the block holds.</summary>
    private static void AddNamedPort(List<PortBox> boxes, NamedPort named, List<PodState> pods, List<AddressRange>? blocks, ClusterIndex cluster)
    {
        string protocol = ClusterIndex.ProtocolName(named.Protocol);
        foreach (var pod in pods)
            foreach (var declared in pod.Ports)
                if (declared.Name == named.Name && declared.Protocol == protocol)
                    boxes.AddRange(pod.Addresses.Select(a => new PortBox(AddressRange.Host(a), named.Protocol, (ushort)declared.Port, (ushort)declared.Port)));
        if (blocks is { Count: 0 }) return;
        var inBlocks = blocks == null ? null : new RangeLookup(blocks);
        foreach (var (address, number) in cluster.NamedPortTargets(named))
            if (inBlocks == null || inBlocks.Contains(address))
                boxes.Add(new PortBox(AddressRange.Host(address), named.Protocol, (ushort)number, (ushort)number));
    }
}
