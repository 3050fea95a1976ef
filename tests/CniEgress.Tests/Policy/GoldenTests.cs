using System.Net;
using CniEgress.Tests.Infrastructure;
using System.Runtime.CompilerServices;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Policy;

/// <summary>Representative policies (Policy/Golden/*.yaml) compiled against one small cluster;
/// the compiled state, the nft transaction and the compiled ingress classes must equal Policy/Golden/*.golden. After an
/// intended change, regenerate with UPDATE_GOLDEN=1 and review the diff.</summary>
public class GoldenTests
{
    public static TheoryData<string> Cases() => new(Directory.GetFiles(GoldenDirectory(), "*.yaml").Select(Path.GetFileNameWithoutExtension).Order()!);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Compiled_state_and_nft_text_match_the_golden_file(string name)
    {
        string yaml = File.ReadAllText(Path.Combine(GoldenDirectory(), name + ".yaml"));
        var policies = Manifests.LoadAll(yaml).OfType<V1NetworkPolicy>().ToList();
        var cluster = Cluster(policies);
        var desired = PolicyCompiler.Compile(cluster);
        string actual = "# compiled\n" + DesiredDataplaneText.Describe(desired)
            + "\n# nft -f (one transaction)\n" + NftRuleset.FullSync(desired, SlotPools.Fresh(desired), []);
        string path = Path.Combine(GoldenDirectory(), name + ".golden");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"{path} is missing: run with UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    /// <summary>Namespaces default (team=a) and kube-system; pods with IPv4 and IPv6 addresses,
    /// labels and named ports; three of them on this node.</summary>
    private static ClusterSnapshot Cluster(IReadOnlyList<V1NetworkPolicy> policies)
    {
        static PodState Pod(string ns, string name, string app, int n, params ContainerPortState[] ports) => new(ns, name,
            new Dictionary<string, string> { ["app"] = app }, [IPAddress.Parse($"10.244.0.{n}"), IPAddress.Parse($"fd00:10:244::{n:x}")], ports);
        var pods = new List<PodState>
        {
            Pod("default", "my-app", "my-app", 10),
            Pod("default", "backend", "backend", 11, new ContainerPortState("http", 8080, "TCP")),
            Pod("default", "db", "db", 12, new ContainerPortState("mysql", 3306, "TCP")),
            Pod("kube-system", "coredns", "kube-dns", 53, new ContainerPortState("dns", 53, "UDP"), new ContainerPortState("dns-tcp", 53, "TCP")),
        };
        var local = pods.Take(3).Select((p, i) => new LocalPod(p.Namespace, p.Name, $"ceg00000000000{i}", p.Addresses)).ToList();
        return new ClusterSnapshot(
            [new NamespaceState("default", new Dictionary<string, string> { ["team"] = "a" }),
             new NamespaceState("kube-system", new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "kube-system" })],
            pods, policies, local);
    }

    private static string GoldenDirectory([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "Golden");
}
