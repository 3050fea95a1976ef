using System.Net;
using System.Net.Sockets;
using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>The pure heart of the agent: a cluster snapshot in, the desired egress dataplane out.
/// No I/O, clock or client. Pods selected by the same set of egress policies share one
/// <see cref="EgressClass"/>, so the kernel holds each allowed destination once per class, not
/// once per pod, and a packet's verdict is a constant number of lookups.</summary>
public static class EgressCompiler
{
    public static DesiredDataplane Compile(ClusterSnapshot snapshot)
    {
        var problems = new List<PolicyProblem>();
        var policies = snapshot.Policies.Select(p => PolicyReader.Read(p, problems))
            .Where(p => p.IsolatesEgress).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var cluster = new ClusterIndex(snapshot);
        var policiesByNamespace = policies.GroupBy(p => p.Namespace).ToDictionary(g => g.Key, g => g.ToList());
        var expansions = new Dictionary<string, PolicyExpansion>(StringComparer.Ordinal);

        var sources = new List<PodSource>();
        var classOf = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var classes = new SortedDictionary<string, EgressClass>(StringComparer.Ordinal);
        foreach (var local in snapshot.LocalPods)
        {
            sources.AddRange(local.Addresses.Select(a => new PodSource(local.HostInterface, a)));
            var pod = cluster.Pod(local.Namespace, local.Name);
            if (pod == null)
            {
                // The API server has not told us the pod's labels yet. If any egress policy could
                // select it, it allows nothing until we know: fail closed, never a window without policy.
                if (policiesByNamespace.ContainsKey(local.Namespace))
                {
                    classOf[local.HostInterface] = UnknownPodClass.Id;
                    classes[UnknownPodClass.Id] = UnknownPodClass;
                }
                continue;
            }
            var selectingPolicies = (policiesByNamespace.GetValueOrDefault(local.Namespace) ?? []).Where(p => p.Selects(pod)).ToList();
            var selecting = selectingPolicies.Select(p => p.Key).ToList();
            if (selecting.Count == 0) continue;
            string id = EgressClass.IdFor(selecting);
            classOf[local.HostInterface] = id;
            if (!classes.ContainsKey(id))
                classes[id] = BuildClass(id, selectingPolicies, cluster, expansions);
        }
        sources.Sort((a, b) => string.CompareOrdinal(a.HostInterface, b.HostInterface) is var c && c != 0 ? c
            : AddressRange.Host(a.Address).CompareTo(AddressRange.Host(b.Address)));
        return new DesiredDataplane(sources, classOf, classes, problems);
    }

    /// <summary>Pods whose labels are not known yet, in a namespace with egress policies.</summary>
    public static readonly EgressClass UnknownPodClass = new(EgressClass.IdFor(["(pod not yet known)"]), ["(pod not yet known)"], [], []);

    private static EgressClass BuildClass(string id, List<EgressPolicy> policies, ClusterIndex cluster, Dictionary<string, PolicyExpansion> expansions)
    {
        var anyTraffic = new List<AddressRange>();
        var boxes = new List<PortBox>();
        foreach (var policy in policies)
        {
            if (!expansions.TryGetValue(policy.Key, out var expansion))
                expansions[policy.Key] = expansion = Expand(policy, cluster);
            anyTraffic.AddRange(expansion.AnyTraffic);
            boxes.AddRange(expansion.Ports);
        }
        return new EgressClass(id, policies.Select(p => p.Key).ToList(), AddressRange.Merge(anyTraffic), DisjointBoxes.Normalize(boxes).ToList());
    }

    /// <summary>What one policy allows, computed once however many classes include it.</summary>
    private sealed record PolicyExpansion(List<AddressRange> AnyTraffic, List<PortBox> Ports);

    private static PolicyExpansion Expand(EgressPolicy policy, ClusterIndex cluster)
    {
        var anyTraffic = new List<AddressRange>();
        var boxes = new List<PortBox>();
        foreach (var rule in policy.Rules)
        {
            // Destinations as pods (selector peers) and as ranges (ipBlocks; null = everywhere).
            var pods = rule.To?.OfType<SelectorPeer>().SelectMany(cluster.SelectedPods).ToList() ?? [];
            List<AddressRange>? blocks = rule.To == null ? null : rule.To.OfType<IpBlockPeer>().SelectMany(b => b.Ranges).ToList();
            var destinations = blocks == null ? [AddressRange.All(false), AddressRange.All(true)]
                : blocks.Concat(pods.SelectMany(p => p.Addresses).Select(AddressRange.Host)).ToList();
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
                        boxes.AddRange(destinations.Select(d => new PortBox(d, n.Protocol, n.First, n.Last)));
                        break;
                    case NamedPort named:
                        // Resolved per destination pod against its own container ports (name and protocol).
                        string protocol = ClusterIndex.ProtocolName(named.Protocol);
                        foreach (var pod in pods)
                            foreach (var declared in pod.Ports)
                                if (declared.Name == named.Name && declared.Protocol == protocol)
                                    boxes.AddRange(pod.Addresses.Select(a => new PortBox(AddressRange.Host(a), named.Protocol, (ushort)declared.Port, (ushort)declared.Port)));
                        if (blocks is { Count: 0 }) break;
                        var inBlocks = blocks == null ? null : new RangeLookup(blocks);
                        foreach (var (address, number) in cluster.NamedPortTargets(named))
                            if (inBlocks == null || inBlocks.Contains(address))
                                boxes.Add(new PortBox(AddressRange.Host(address), named.Protocol, (ushort)number, (ushort)number));
                        break;
                }
            }
        }
        return new PolicyExpansion(anyTraffic, boxes);
    }

    /// <summary>Lookups over the snapshot that the peers need.</summary>
    private sealed class ClusterIndex(ClusterSnapshot snapshot)
    {
        private readonly Dictionary<(string, string), PodState> pods = snapshot.Pods
            .GroupBy(p => (p.Namespace, p.Name)).ToDictionary(g => g.Key, g => g.Last());
        private readonly Dictionary<string, NamespaceState> namespaces = snapshot.Namespaces
            .GroupBy(n => n.Name).ToDictionary(g => g.Key, g => g.Last());
        private readonly Dictionary<string, List<PodState>> podsByNamespace = snapshot.Pods
            .GroupBy(p => p.Namespace).ToDictionary(g => g.Key, g => g.ToList());

        public PodState? Pod(string ns, string name) => pods.GetValueOrDefault((ns, name));

        private readonly Dictionary<(string, byte), List<(IPAddress, int)>> namedPorts = [];

        public IEnumerable<AddressRange> Addresses(EgressPeer peer) => peer switch
        {
            IpBlockPeer block => block.Ranges,
            SelectorPeer selector => SelectedPods(selector).SelectMany(p => p.Addresses).Select(AddressRange.Host),
            _ => [],
        };

        public List<(IPAddress Address, int Port)> NamedPortTargets(NamedPort port)
        {
            if (namedPorts.TryGetValue((port.Name, port.Protocol), out var known)) return known;
            string protocol = ProtocolName(port.Protocol);
            var targets = new List<(IPAddress, int)>();
            foreach (var pod in snapshot.Pods)
                foreach (var declared in pod.Ports)
                    if (declared.Name == port.Name && declared.Protocol == protocol)
                        foreach (var address in pod.Addresses)
                            targets.Add((address, declared.Port));
            return namedPorts[(port.Name, port.Protocol)] = targets;
        }

        public static string ProtocolName(byte protocol) => protocol switch { Protocols.Udp => "UDP", Protocols.Sctp => "SCTP", _ => "TCP" };

        public IEnumerable<PodState> SelectedPods(SelectorPeer peer)
        {
            IEnumerable<string> namespaceNames = peer.Namespaces == null
                ? [peer.PolicyNamespace]
                : podsByNamespace.Keys.Where(n => namespaces.TryGetValue(n, out var ns) && peer.Namespaces.Matches(ns.Labels));
            foreach (string name in namespaceNames)
                foreach (var pod in podsByNamespace.GetValueOrDefault(name) ?? [])
                    if (peer.Pods == null || peer.Pods.Matches(pod.Labels)) yield return pod;
        }
    }
}

/// <summary>Membership in a set of ranges by binary search over their merged form.</summary>
internal sealed class RangeLookup(IEnumerable<AddressRange> ranges)
{
    private readonly List<AddressRange> merged = AddressRange.Merge(ranges);

    public bool Contains(IPAddress address)
    {
        var probe = AddressRange.Host(address);
        int low = 0, high = merged.Count - 1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            var range = merged[middle];
            if (range.IsIPv6 == probe.IsIPv6 && range.First <= probe.First && probe.First <= range.Last) return true;
            if (range.CompareTo(probe) < 0) low = middle + 1;
            else high = middle - 1;
        }
        return false;
    }
}

/// <summary>Evaluates a packet against a compiled dataplane in process, exactly as the nftables
/// rules do: anti-spoofing, then unisolated pods pass, then the class's two lookups.</summary>
public static class DataplaneVerdict
{
    public static bool Allows(DesiredDataplane dataplane, string hostInterface, IPAddress source, IPAddress destination, byte protocol, int port)
    {
        var mine = dataplane.PodSources.Where(s => s.HostInterface == hostInterface).ToList();
        if (mine.Count > 0 && !mine.Any(s => s.Address.Equals(source))) return false;
        if (!dataplane.ClassOfInterface.TryGetValue(hostInterface, out var id)) return true;
        var egress = dataplane.Classes[id];
        if (egress.AnyTraffic.Any(r => r.Contains(destination))) return true;
        return egress.Ports.Any(b => b.Contains(destination, protocol, port));
    }

    public static bool IsIPv6(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6;
}
