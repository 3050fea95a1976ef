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
                if (policies.Any(p => p.Namespace == local.Namespace))
                {
                    classOf[local.HostInterface] = UnknownPodClass.Id;
                    classes[UnknownPodClass.Id] = UnknownPodClass;
                }
                continue;
            }
            var selecting = policies.Where(p => p.Selects(pod)).Select(p => p.Key).ToList();
            if (selecting.Count == 0) continue;
            string id = EgressClass.IdFor(selecting);
            classOf[local.HostInterface] = id;
            if (!classes.ContainsKey(id))
                classes[id] = BuildClass(id, policies.Where(p => selecting.Contains(p.Key)).ToList(), cluster);
        }
        sources.Sort((a, b) => string.CompareOrdinal(a.HostInterface, b.HostInterface) is var c && c != 0 ? c
            : AddressRange.Host(a.Address).CompareTo(AddressRange.Host(b.Address)));
        return new DesiredDataplane(sources, classOf, classes, problems);
    }

    /// <summary>Pods whose labels are not known yet, in a namespace with egress policies.</summary>
    public static readonly EgressClass UnknownPodClass = new(EgressClass.IdFor(["(pod not yet known)"]), ["(pod not yet known)"], [], []);

    private static EgressClass BuildClass(string id, List<EgressPolicy> policies, ClusterIndex cluster)
    {
        var anyTraffic = new List<AddressRange>();
        var boxes = new List<PortBox>();
        foreach (var rule in policies.SelectMany(p => p.Rules))
        {
            var destinations = rule.To == null ? [AddressRange.All(false), AddressRange.All(true)] : rule.To.SelectMany(cluster.Addresses).ToList();
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
                        // Resolved per destination pod: only pods inside this rule's destinations that
                        // declare a container port of that name and protocol.
                        foreach (var (address, number) in cluster.NamedPortTargets(named))
                            if (destinations.Any(d => d.Contains(address)))
                                boxes.Add(new PortBox(AddressRange.Host(address), named.Protocol, (ushort)number, (ushort)number));
                        break;
                }
            }
        }
        return new EgressClass(id, policies.Select(p => p.Key).ToList(), AddressRange.Merge(anyTraffic), DisjointBoxes.Normalize(boxes).ToList());
    }

    /// <summary>Lookups over the snapshot that the peers need.</summary>
    private sealed class ClusterIndex(ClusterSnapshot snapshot)
    {
        private readonly Dictionary<(string, string), PodState> pods = snapshot.Pods
            .GroupBy(p => (p.Namespace, p.Name)).ToDictionary(g => g.Key, g => g.Last());
        private readonly Dictionary<string, NamespaceState> namespaces = snapshot.Namespaces
            .GroupBy(n => n.Name).ToDictionary(g => g.Key, g => g.Last());

        public PodState? Pod(string ns, string name) => pods.GetValueOrDefault((ns, name));

        public IEnumerable<AddressRange> Addresses(EgressPeer peer) => peer switch
        {
            IpBlockPeer block => block.Ranges,
            SelectorPeer selector => SelectedPods(selector).SelectMany(p => p.Addresses).Select(AddressRange.Host),
            _ => [],
        };

        public IEnumerable<(IPAddress Address, int Port)> NamedPortTargets(NamedPort port)
        {
            string protocol = port.Protocol switch { Protocols.Udp => "UDP", Protocols.Sctp => "SCTP", _ => "TCP" };
            foreach (var pod in snapshot.Pods)
                foreach (var declared in pod.Ports)
                    if (declared.Name == port.Name && declared.Protocol == protocol)
                        foreach (var address in pod.Addresses)
                            yield return (address, declared.Port);
        }

        private IEnumerable<PodState> SelectedPods(SelectorPeer peer) => snapshot.Pods.Where(pod =>
        {
            bool namespaceMatches = peer.Namespaces == null
                ? pod.Namespace == peer.PolicyNamespace
                : namespaces.TryGetValue(pod.Namespace, out var ns) && peer.Namespaces.Matches(new Dictionary<string, string>(ns.Labels));
            return namespaceMatches && (peer.Pods == null || peer.Pods.Matches(new Dictionary<string, string>(pod.Labels)));
        });
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
