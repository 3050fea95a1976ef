using System.Net;
using CniEgress.PolicyAgent.Policy;
using CsCheck;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Policy;

/// <summary>Over random namespaces, pods, labels, policies (valid and broken) and flows, the
/// compiled dataplane's verdict equals the naive reading of the spec.</summary>
public class EgressSemanticsPropertyTests
{
    [Fact]
    public void Compiled_verdicts_equal_the_naive_semantics() =>
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            var snapshot = RandomCluster.Snapshot(random);
            var compiled = PolicyCompiler.Compile(snapshot);
            for (int i = 0; i < 60; i++)
            {
                var flow = RandomCluster.Flow(random, snapshot);
                bool expected = NaivePolicySemantics.Allows(snapshot, flow.From, flow.Source, flow.Destination, flow.Protocol, flow.Port);
                byte protocol = flow.Protocol switch { "UDP" => Protocols.Udp, "SCTP" => Protocols.Sctp, _ => Protocols.Tcp };
                bool actual = DataplaneVerdict.Allows(compiled, flow.From.HostInterface, flow.Source, flow.Destination, protocol, flow.Port);
                if (expected != actual)
                    throw new Xunit.Sdk.XunitException($"seed {seed}: {flow} naive={expected} compiled={actual}\n{RandomCluster.Describe(snapshot)}");
                // The conntrack sweep's lookup structure agrees with the class it was built from.
                if (compiled.ClassOfInterface.TryGetValue(flow.From.HostInterface, out string? id)
                    && new ClassMatcher(compiled.Classes[id]).Allows(flow.Destination, protocol, flow.Port) != DataplaneVerdict.Allows(compiled, flow.From.HostInterface, flow.From.Addresses[0], flow.Destination, protocol, flow.Port))
                    throw new Xunit.Sdk.XunitException($"seed {seed}: ClassMatcher disagrees on {flow}");
            }
        }, iter: 1500);
}

public sealed record Flow(LocalPod From, IPAddress Source, IPAddress Destination, string Protocol, int Port)
{
    public override string ToString() => $"{From.Namespace}/{From.Name} ({From.HostInterface}) {Source} -> {Destination} {Protocol}/{Port}";
}

/// <summary>Small worlds where every feature collides often: few labels, overlapping CIDRs, ports
/// near each other, named ports that resolve differently per pod, and broken fields.</summary>
public static class RandomCluster
{
    private static readonly string[] NamespaceNames = ["a", "b", "c"];

    public static ClusterSnapshot Snapshot(Random r)
    {
        var namespaces = NamespaceNames.Select(n => new NamespaceState(n, Labels(r, ("team", ["x", "y"]), ("env", ["prod", "dev"])))).ToList();
        int podCount = r.Next(2, 8);
        var pods = new List<PodState>();
        for (int i = 0; i < podCount; i++)
        {
            var addresses = new List<IPAddress> { IPAddress.Parse($"10.0.{r.Next(0, 3)}.{10 + i}") };
            if (r.Next(3) == 0) addresses.Add(IPAddress.Parse($"fd00::{10 + i:x}"));
            var ports = new List<ContainerPortState>();
            if (r.Next(2) == 0) ports.Add(new("http", r.Next(2) == 0 ? 80 : 8080, "TCP"));
            if (r.Next(3) == 0) ports.Add(new("dns", 53, "UDP"));
            if (r.Next(4) == 0) ports.Add(new("http", 81, "UDP"));
            pods.Add(new PodState(Pick(r, NamespaceNames), $"p{i}", Labels(r, ("app", ["web", "db"]), ("tier", ["front", "back"])), addresses, ports));
        }
        var local = pods.Where(_ => r.Next(3) > 0).Select((p, i) => new LocalPod(p.Namespace, p.Name, $"ceg{i:x12}", p.Addresses)).ToList();
        if (r.Next(5) == 0) local.Add(new LocalPod(Pick(r, NamespaceNames), "not-yet-known", "cegffffffffffff", [IPAddress.Parse("10.0.9.9")]));
        if (local.Count == 0) local.Add(new LocalPod(pods[0].Namespace, pods[0].Name, "ceg000000000000", pods[0].Addresses));
        var policies = Enumerable.Range(0, r.Next(0, 5)).Select(i => Policy(r, i)).ToList();
        return new ClusterSnapshot(namespaces, pods, policies, local);
    }

    public static Flow Flow(Random r, ClusterSnapshot snapshot)
    {
        var from = Pick(r, snapshot.LocalPods);
        var source = r.Next(8) == 0 ? IPAddress.Parse("10.0.7.7") : Pick(r, from.Addresses);
        var candidates = snapshot.Pods.SelectMany(p => p.Addresses)
            .Concat([IPAddress.Parse("203.0.113.5"), IPAddress.Parse("10.0.1.200"), IPAddress.Parse("10.0.1.3"), IPAddress.Parse("fd00::99")])
            .Where(d => d.AddressFamily == source.AddressFamily).ToList();
        return new Flow(from, source, Pick(r, candidates), Pick(r, ["TCP", "UDP", "SCTP"]), Pick(r, [53, 80, 81, 85, 443, 8080]));
    }

    private static V1NetworkPolicy Policy(Random r, int index)
    {
        var spec = new V1NetworkPolicySpec
        {
            PodSelector = Selector(r) ?? new V1LabelSelector(),
            PolicyTypes = Pick<List<string>?>(r, [null, ["Egress"], ["Ingress"], ["Ingress", "Egress"]]),
            Egress = r.Next(5) switch { 0 => null, 1 => [], _ => Enumerable.Range(0, r.Next(1, 4)).Select(_ => Rule(r)).ToList() },
            Ingress = r.Next(5) switch { 0 => null, 1 => [], _ => Enumerable.Range(0, r.Next(1, 4)).Select(_ => IngressRule(r)).ToList() },
        };
        return new V1NetworkPolicy { Metadata = new V1ObjectMeta { Name = $"np{index}", NamespaceProperty = Pick(r, NamespaceNames) }, Spec = spec };
    }

    private static V1NetworkPolicyEgressRule Rule(Random r) => new()
    {
        To = r.Next(4) switch { 0 => null, 1 => [], _ => Enumerable.Range(0, r.Next(1, 3)).Select(_ => Peer(r)).ToList() },
        Ports = r.Next(4) switch { 0 => null, 1 => [], _ => Enumerable.Range(0, r.Next(1, 3)).Select(_ => Port(r)).ToList() },
    };

    private static V1NetworkPolicyIngressRule IngressRule(Random r)
    {
        var egress = Rule(r);
        return new() { FromProperty = egress.To, Ports = egress.Ports };
    }

    private static V1NetworkPolicyPeer Peer(Random r)
    {
        switch (r.Next(5))
        {
            case 0: return new V1NetworkPolicyPeer { PodSelector = Selector(r) ?? new V1LabelSelector() };
            case 1: return new V1NetworkPolicyPeer { NamespaceSelector = NamespaceSelector(r) ?? new V1LabelSelector() };
            case 2: return new V1NetworkPolicyPeer { PodSelector = Selector(r) ?? new V1LabelSelector(), NamespaceSelector = NamespaceSelector(r) ?? new V1LabelSelector() };
            case 3 when r.Next(10) == 0: return new V1NetworkPolicyPeer(); // invalid: empty peer
            default:
                var block = new V1IPBlock
                {
                    Cidr = Pick(r, ["10.0.0.0/16", "10.0.1.0/24", "0.0.0.0/0", "10.0.1.10/32", "10.0.1.7/24", "fd00::/64", "::/0", "bogus", "10.0.0.0/33"]),
                    Except = r.Next(2) == 0 ? null : Enumerable.Range(0, r.Next(1, 3)).Select(_ => Pick(r, ["10.0.1.0/28", "10.0.1.128/25", "10.0.0.0/24", "10.2.0.0/16", "fd00::/120", "10.0.1.10/32"])).Distinct().ToList(),
                };
                return new V1NetworkPolicyPeer { IpBlock = block };
        }
    }

    private static V1NetworkPolicyPort Port(Random r)
    {
        var port = new V1NetworkPolicyPort { Protocol = Pick<string?>(r, [null, "TCP", "UDP", "SCTP", "TCP", null, "ICMP"]) };
        switch (r.Next(7))
        {
            case 0: break; // every port of the protocol
            case 1: port.Port = 80; break;
            case 2: port.Port = 53; break;
            case 3: port.Port = "http"; break;
            case 4: port.Port = "dns"; break;
            case 5: port.Port = 80; port.EndPort = Pick(r, [85, 90, 70]); break;
            default: port.Port = Pick(r, [0, 70000]); break;
        }
        return port;
    }

    private static V1LabelSelector? Selector(Random r) => r.Next(5) switch
    {
        0 => null,
        1 => new V1LabelSelector(),
        2 => new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = Pick(r, ["web", "db"]) } },
        3 => new V1LabelSelector { MatchExpressions = [Expression(r, Pick(r, ["app", "tier"]), ["web", "db", "front"])] },
        _ => new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["tier"] = Pick(r, ["front", "back"]) }, MatchExpressions = [Expression(r, "app", ["web"])] },
    };

    private static V1LabelSelector? NamespaceSelector(Random r) => r.Next(4) switch
    {
        0 => null,
        1 => new V1LabelSelector(),
        2 => new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["team"] = Pick(r, ["x", "y"]) } },
        _ => new V1LabelSelector { MatchExpressions = [Expression(r, "env", ["prod"])] },
    };

    private static V1LabelSelectorRequirement Expression(Random r, string key, string[] values)
    {
        string op = Pick(r, ["In", "NotIn", "Exists", "DoesNotExist", "In", "NotIn", "Bogus"]);
        bool needsValues = op is "In" or "NotIn";
        var chosen = needsValues == (r.Next(12) != 0) ? values.Where(_ => r.Next(2) == 0).DefaultIfEmpty(values[0]).ToList() : [];
        return new V1LabelSelectorRequirement { Key = key, OperatorProperty = op, Values = chosen };
    }

    private static Dictionary<string, string> Labels(Random r, params (string Key, string[] Values)[] choices) =>
        choices.Where(_ => r.Next(3) > 0).ToDictionary(c => c.Key, c => Pick(r, c.Values));

    public static T Pick<T>(Random r, IReadOnlyList<T> items) => items[r.Next(items.Count)];

    public static string Describe(ClusterSnapshot s) =>
        k8s.KubernetesJson.Serialize(new { s.Namespaces, s.Pods, Policies = s.Policies, s.LocalPods });
}
