using CniEgress.PolicyAgent.Policy;
using CsCheck;
using Xunit;

namespace CniEgress.Tests.Policy;

/// <summary>Over the same random worlds as the semantics property tests: `explain`'s rule-by-rule
/// verdict equals the compiled dataplane's on both sides, a denial gives every rule a reason, and the canonical
/// form the CLI prints (and compares with the kernel) allows exactly what the class allows.</summary>
public class ExplainPropertyTests
{
    [Fact]
    public void Explanations_and_the_printed_form_agree_with_the_compiled_verdicts() =>
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            var snapshot = RandomCluster.Snapshot(random);
            var compilation = new PolicyCompilation();
            compilation.Load(snapshot);
            var compiled = compilation.Build();
            foreach (var egress in compiled.Classes.Values) PrintedFormMatchesAtEveryEdge(seed, egress);
            for (int i = 0; i < 60; i++)
            {
                var flow = RandomCluster.Flow(random, snapshot);
                var source = flow.From.Addresses.FirstOrDefault(a => a.AddressFamily == flow.Destination.AddressFamily);
                if (source == null) continue;
                byte protocol = flow.Protocol switch { "UDP" => Protocols.Udp, "SCTP" => Protocols.Sctp, _ => Protocols.Tcp };
                bool verdict = DataplaneVerdict.Allows(compiled, flow.From.HostInterface, source, flow.Destination, protocol, flow.Port);
                var why = compilation.Explain(Direction.Egress, flow.From.Namespace, flow.From.Name, flow.Destination, protocol, flow.Port);
                if (why.Allowed != verdict)
                    throw new Xunit.Sdk.XunitException($"seed {seed}: {flow} compiled={verdict} explain={why.Allowed} ({why.Summary})\n{RandomCluster.Describe(snapshot)}");
                if (!why.Allowed && why.Rules.Any(r => r.Allows || r.Reasons.Count == 0))
                    throw new Xunit.Sdk.XunitException($"seed {seed}: {flow} denied, but a rule has no reason");
                if (compiled.ClassOfInterface.TryGetValue(flow.From.HostInterface, out string? id)
                    && AllowedTraffic.Of(compiled.Classes[id]).Allows(flow.Destination, protocol, flow.Port) != verdict)
                    throw new Xunit.Sdk.XunitException($"seed {seed}: the printed form of class {id} disagrees on {flow}");

                // The same flow turned around, as the ingress semantics test does: its destination sends to a local pod.
                var to = RandomCluster.Pick(random, snapshot.LocalPods);
                bool accepted = compiled.Ingress.Allows(to.HostInterface, flow.Destination, protocol, flow.Port);
                var whyIn = compilation.Explain(Direction.Ingress, to.Namespace, to.Name, flow.Destination, protocol, flow.Port);
                if (whyIn.Allowed != accepted)
                    throw new Xunit.Sdk.XunitException($"seed {seed}: {flow.Destination} -> {to.Namespace}/{to.Name} {flow.Protocol}/{flow.Port} compiled={accepted} explain={whyIn.Allowed} ({whyIn.Summary})\n{RandomCluster.Describe(snapshot)}");
                if (!whyIn.Allowed && whyIn.Rules.Any(r => r.Allows || r.Reasons.Count == 0))
                    throw new Xunit.Sdk.XunitException($"seed {seed}: ingress into {to.Namespace}/{to.Name} denied, but a rule has no reason");
            }
            foreach (var accepted in compiled.Ingress.Classes.Values) PrintedFormMatchesAtEveryEdge(seed, accepted);
        }, iter: 600);

    /// <summary>Random flows seldom hit the edge of a box: probe every box's corners and just past them.</summary>
    private static void PrintedFormMatchesAtEveryEdge(int seed, PolicyClass egress)
    {
        var printed = AllowedTraffic.Of(egress);
        var oracle = new ClassMatcher(egress);
        foreach (var box in egress.Ports)
        {
            var (first, last) = (box.Destination.First, box.Destination.Last);
            UInt128 max = box.Destination.IsIPv6 ? UInt128.MaxValue : uint.MaxValue;
            foreach (var address in new[] { first, last, first == 0 ? first : first - 1, last == max ? last : last + 1 })
                foreach (int port in new[] { box.FirstPort - 1, box.FirstPort, box.LastPort, box.LastPort + 1 })
                {
                    var destination = CniEgress.Net.AddressMath.ToAddress(address, box.Destination.IsIPv6);
                    if (printed.Allows(destination, box.Protocol, port) != oracle.Allows(destination, box.Protocol, port))
                        throw new Xunit.Sdk.XunitException($"seed {seed}: the printed form of class {egress.Id} disagrees on {destination} {box.Protocol}/{port}: {string.Join("; ", printed.Lines())}");
                }
        }
    }
}
