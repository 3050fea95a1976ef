using CniEgress.PolicyAgent.Policy;
using CsCheck;
using Xunit;

namespace CniEgress.Tests.Policy;

/// <summary>Over the random worlds of the egress property test (whose policies carry ingress
/// rules too): the ingress compiler's verdict for a new connection into a local pod equals the
/// naive reading of the spec (from peers x ports, named ports of the pod itself, fail closed
/// for unknown labels and broken fields).</summary>
public class IngressSemanticsPropertyTests
{
    [Fact]
    public void Compiled_ingress_verdicts_equal_the_naive_semantics() =>
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            var snapshot = RandomCluster.Snapshot(random);
            var compiled = PolicyCompiler.Compile(snapshot).Ingress;
            for (int i = 0; i < 60; i++)
            {
                // The egress generator's flow, turned around: its destination sends to the local pod.
                var flow = RandomCluster.Flow(random, snapshot);
                var to = RandomCluster.Pick(random, snapshot.LocalPods);
                byte protocol = flow.Protocol switch { "UDP" => Protocols.Udp, "SCTP" => Protocols.Sctp, _ => Protocols.Tcp };
                bool expected = NaivePolicySemantics.AllowsIngress(snapshot, to, flow.Destination, flow.Protocol, flow.Port);
                bool actual = compiled.Allows(to.HostInterface, flow.Destination, protocol, flow.Port);
                if (expected != actual)
                    throw new Xunit.Sdk.XunitException($"seed {seed}: {flow.Destination} -> {to.Namespace}/{to.Name} ({to.HostInterface}) {flow.Protocol}/{flow.Port} naive={expected} compiled={actual}\n{RandomCluster.Describe(snapshot)}");
            }
        }, iter: 1500);
}
