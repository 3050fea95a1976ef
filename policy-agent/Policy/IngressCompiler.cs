using System.Net;
using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>What the kernel would need to enforce ingress for this node's pods: the class of
/// each isolated pod's host interface and, per class, the sources it accepts on every port and
/// the (source, protocol, port range) boxes. The class shape is <see cref="EgressClass"/>'s with
/// sources in place of destinations, so the same slots and sets can hold it.</summary>
public sealed record IngressDataplane(IReadOnlyDictionary<string, string> ClassOfInterface, IReadOnlyDictionary<string, EgressClass> Classes, IReadOnlyList<PolicyProblem> Problems)
{
    /// <summary>Whether a new connection from <paramref name="source"/> to the pod behind
    /// <paramref name="hostInterface"/> is allowed in (replies of allowed connections always are).</summary>
    public bool Allows(string hostInterface, IPAddress source, byte protocol, int port)
    {
        if (!ClassOfInterface.TryGetValue(hostInterface, out var id)) return true;
        var accepted = Classes[id];
        return accepted.AnyTraffic.Any(r => r.Contains(source)) || accepted.Ports.Any(b => b.Contains(source, protocol, port));
    }
}

/// <summary>The pure ingress compiler: a cluster snapshot in, this node's ingress classes out.
/// Cold (everything from the snapshot each call), deterministic, no I/O. A pod is isolated for
/// ingress when a policy of its namespace selects it with Ingress in its effective policyTypes
/// (unset: always); it accepts the union of those policies' `from` peers x ports, named ports
/// resolved against the pod itself. Not enforced by the agent yet (issue 6 wires it into the
/// dataplane); the property test holds it to the naive reading of the spec meanwhile.</summary>
public static class IngressCompiler
{
    public static IngressDataplane Compile(ClusterSnapshot snapshot)
    {
        var cluster = new ClusterIndex();
        foreach (var ns in snapshot.Namespaces) cluster.SetNamespace(ns);
        foreach (var pod in snapshot.Pods) cluster.SetPod(pod);
        var problems = new List<PolicyProblem>();
        var policies = snapshot.Policies.Select(p => PolicyReader.ReadIngress(p, problems)).OfType<IngressPolicy>()
            .OrderBy(p => p.Key, StringComparer.Ordinal).ToList();

        var classOf = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var classes = new SortedDictionary<string, EgressClass>(StringComparer.Ordinal);
        foreach (var local in snapshot.LocalPods)
        {
            var candidates = policies.Where(p => p.Namespace == local.Namespace).ToList();
            if (candidates.Count == 0) continue;
            var pod = cluster.Pod(local.Namespace, local.Name);
            // Labels unknown and a policy could select the pod: nothing in until we know (fail closed).
            var accepted = pod == null ? EgressCompilation.UnknownPodClass : Accepted(cluster, candidates.Where(p => p.Selects(pod)).ToList(), pod);
            if (accepted == null) continue;
            classOf[local.HostInterface] = accepted.Id;
            classes.TryAdd(accepted.Id, accepted);
        }
        return new IngressDataplane(classOf, classes, problems);
    }

    /// <summary>Null when no policy selects the pod (not isolated).</summary>
    private static EgressClass? Accepted(ClusterIndex cluster, List<IngressPolicy> selecting, PodState pod)
    {
        if (selecting.Count == 0) return null;
        var anyPort = new List<AddressRange>();
        var boxes = new List<PortBox>();
        foreach (var rule in selecting.SelectMany(p => p.Rules))
        {
            var sources = Sources(cluster, rule);
            if (rule.Ports == null)
            {
                anyPort.AddRange(sources);
                continue;
            }
            foreach (var port in rule.Ports)
            {
                if (port is NumericPort n)
                {
                    boxes.AddRange(sources.Select(s => new PortBox(s, n.Protocol, n.First, n.Last)));
                    continue;
                }
                var named = (NamedPort)port;
                string protocol = ClusterIndex.ProtocolName(named.Protocol);
                foreach (var declared in pod.Ports.Where(d => d.Name == named.Name && d.Protocol == protocol))
                    boxes.AddRange(sources.Select(s => new PortBox(s, named.Protocol, (ushort)declared.Port, (ushort)declared.Port)));
            }
        }
        // With a named port, the pod's own ports are part of the class: the name opens a different
        // number per pod. Without one, pods selected by the same policies share a class.
        var keys = selecting.Select(p => p.Key).ToList();
        bool usesNamedPorts = selecting.Any(p => p.Rules.Any(r => r.Ports?.OfType<NamedPort>().Any() == true));
        string id = "i" + EgressClass.IdFor(usesNamedPorts ? [.. keys, .. pod.Ports.Select(p => $"{p.Name}:{p.Port}/{p.Protocol}")] : keys)[1..];
        return new EgressClass(id, keys, [.. AddressRange.Merge(anyPort)], [.. DisjointBoxes.Normalize(boxes)]);
    }

    /// <summary>`from` peers as address ranges: null = every source; pods by selector; ipBlocks.</summary>
    private static List<AddressRange> Sources(ClusterIndex cluster, PolicyRule rule)
    {
        if (rule.Peers == null) return [AddressRange.All(false), AddressRange.All(true)];
        var sources = new List<AddressRange>();
        foreach (var peer in rule.Peers)
        {
            if (peer is IpBlockPeer block) sources.AddRange(block.Ranges);
            else if (peer is SelectorPeer selector) sources.AddRange(cluster.SelectedPods(selector).SelectMany(p => p.Addresses).Select(AddressRange.Host));
        }
        return sources;
    }
}
