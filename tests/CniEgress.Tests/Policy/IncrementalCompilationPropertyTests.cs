using System.Text;
using CniEgress.PolicyAgent.Policy;
using CsCheck;
using Xunit;

namespace CniEgress.Tests.Policy;

/// <summary>A warm <see cref="PolicyCompilation"/> told one change at a time must always hold
/// exactly what a cold compile of the same snapshot gives, over random sequences of namespace,
/// pod, policy and local-pod changes.</summary>
public class IncrementalCompilationPropertyTests
{
    [Fact]
    public void Every_change_leaves_the_same_state_as_a_full_compile() =>
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            var snapshot = RandomCluster.Snapshot(random);
            var warm = new PolicyCompilation();
            warm.Load(snapshot);
            var before = warm.Build();
            for (int step = 0; step < 12; step++)
            {
                var donor = RandomCluster.Snapshot(random);
                string change;
                (snapshot, change) = RandomChange(random, snapshot, donor, warm);
                var incremental = warm.Build();
                string expected = Canonical(PolicyCompiler.Compile(snapshot));
                string actual = Canonical(incremental);
                if (expected != actual)
                    throw new Xunit.Sdk.XunitException($"seed {seed} step {step} ({change}):\nexpected {expected}\nactual   {actual}\n{RandomCluster.Describe(snapshot)}");
                foreach (var (id, egress) in incremental.Classes.Concat(incremental.Ingress.Classes))
                    if ((before.Classes.TryGetValue(id, out var old) || before.Ingress.Classes.TryGetValue(id, out old)) && !ReferenceEquals(old, egress) && Canonical(old) == Canonical(egress)
                        && change.StartsWith("local", StringComparison.Ordinal))
                        throw new Xunit.Sdk.XunitException($"seed {seed}: a local pod change rebuilt class {id}");
                before = incremental;
            }
        }, iter: 400);

    /// <summary>One random change, told to <paramref name="warm"/> and made to the snapshot.</summary>
    internal static (ClusterSnapshot, string) RandomChange(Random r, ClusterSnapshot s, ClusterSnapshot donor, PolicyCompilation warm)
    {
        switch (r.Next(8))
        {
            case 0:
            {
                var ns = donor.Namespaces[r.Next(donor.Namespaces.Count)];
                warm.SetNamespace(ns);
                return (s with { Namespaces = [.. s.Namespaces.Where(n => n.Name != ns.Name), ns] }, "namespace relabel " + ns.Name);
            }
            case 1 when s.Namespaces.Count > 0:
            {
                var ns = s.Namespaces[r.Next(s.Namespaces.Count)];
                warm.RemoveNamespace(ns.Name);
                return (s with { Namespaces = s.Namespaces.Where(n => n.Name != ns.Name).ToList() }, "namespace removed " + ns.Name);
            }
            case 2 when s.Pods.Count > 0:
            {
                // Same pod, new labels, ports or addresses.
                var old = s.Pods[r.Next(s.Pods.Count)];
                var shape = donor.Pods[r.Next(donor.Pods.Count)];
                var pod = old with
                {
                    Labels = r.Next(2) == 0 ? shape.Labels : old.Labels,
                    Ports = r.Next(2) == 0 ? shape.Ports : old.Ports,
                    Addresses = r.Next(3) == 0 ? shape.Addresses : old.Addresses,
                };
                warm.SetPod(pod);
                return (s with { Pods = s.Pods.Select(p => p == old ? pod : p).ToList() }, $"pod changed {pod.Namespace}/{pod.Name}");
            }
            case 3 when s.Pods.Count > 0:
            {
                var old = s.Pods[r.Next(s.Pods.Count)];
                warm.RemovePod(old.Namespace, old.Name);
                return (s with { Pods = s.Pods.Where(p => p != old).ToList() }, $"pod removed {old.Namespace}/{old.Name}");
            }
            case 4:
            {
                var pod = donor.Pods[r.Next(donor.Pods.Count)] with { Name = "new" + r.Next(3) };
                warm.SetPod(pod);
                return (s with { Pods = [.. s.Pods.Where(p => p.Namespace != pod.Namespace || p.Name != pod.Name), pod] }, $"pod added {pod.Namespace}/{pod.Name}");
            }
            case 5 when donor.Policies.Count > 0:
            {
                var policy = donor.Policies[r.Next(donor.Policies.Count)];
                warm.SetPolicy(policy);
                string key = Key(policy);
                return (s with { Policies = [.. s.Policies.Where(p => Key(p) != key), policy] }, "policy set " + key);
            }
            case 6 when s.Policies.Count > 0:
            {
                var policy = s.Policies[r.Next(s.Policies.Count)];
                warm.RemovePolicy(policy.Metadata.NamespaceProperty, policy.Metadata.Name);
                return (s with { Policies = s.Policies.Where(p => p != policy).ToList() }, "policy removed " + Key(policy));
            }
            default:
            {
                if (s.LocalPods.Count > 1 && r.Next(2) == 0)
                {
                    var gone = s.LocalPods[r.Next(s.LocalPods.Count)];
                    warm.RemoveLocalPod(gone.HostInterface);
                    return (s with { LocalPods = s.LocalPods.Where(l => l != gone).ToList() }, "local pod removed " + gone.HostInterface);
                }
                var pod = s.Pods.Count > 0 && r.Next(4) > 0 ? s.Pods[r.Next(s.Pods.Count)] : donor.Pods[0] with { Name = "unknown" };
                var local = new LocalPod(pod.Namespace, pod.Name, $"cegnew{r.Next(1000):x9}", pod.Addresses);
                warm.SetLocalPod(local);
                return (s with { LocalPods = [.. s.LocalPods.Where(l => l.HostInterface != local.HostInterface), local] }, "local pod added " + local.HostInterface);
            }
        }
    }

    private static string Key(k8s.Models.V1NetworkPolicy p) => $"{p.Metadata.NamespaceProperty}/{p.Metadata.Name}";

    private static string Canonical(DesiredDataplane d)
    {
        var text = new StringBuilder();
        text.AppendJoin(' ', d.PodSources.Select(s => $"{s.HostInterface}={s.Address}")).Append(" | ");
        text.AppendJoin(' ', d.ClassOfInterface.Select(kv => $"{kv.Key}->{kv.Value}")).Append(" | ");
        foreach (var egress in d.Classes.Values) text.Append(Canonical(egress)).Append(' ');
        text.Append("| ingress ").AppendJoin(' ', d.Ingress.ClassOfInterface.Select(kv => $"{kv.Key}->{kv.Value}")).Append(" | ");
        foreach (var accepted in d.Ingress.Classes.Values) text.Append(Canonical(accepted)).Append(' ');
        text.Append("| ").AppendJoin("; ", d.Problems);
        return text.ToString();
    }

    private static string Canonical(PolicyClass c) =>
        $"{c.Id}[{string.Join(',', c.Policies)}]any({string.Join(',', c.AnyTraffic)})ports({string.Join(',', c.Ports)})";
}
