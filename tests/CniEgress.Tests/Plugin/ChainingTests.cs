using System.Text.Json.Nodes;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

/// <summary>cni-egress as the first plugin of a conflist, chained with Debian's reference
/// portmap and bandwidth plugins (which speak up to 1.0.0).</summary>
public class ChainingTests
{
    [KernelFact]
    public void Portmap_and_bandwidth_chain_after_cni_egress()
    {
        NodeAddress.Ensure();
        var network = new TestNetwork(version: "1.0.0");
        var conflist = new JsonObject
        {
            ["cniVersion"] = "1.0.0",
            ["name"] = network.Name,
            ["plugins"] = new JsonArray(
                network.Json.DeepClone(),
                new JsonObject { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } },
                new JsonObject { ["type"] = "bandwidth", ["capabilities"] = new JsonObject { ["bandwidth"] = true } }),
        };
        var runtimeConfig = new JsonObject
        {
            ["portMappings"] = new JsonArray(new JsonObject { ["hostPort"] = 18080, ["containerPort"] = 80, ["protocol"] = "tcp" }),
            ["bandwidth"] = new JsonObject { ["ingressRate"] = 100_000_000, ["ingressBurst"] = 10_000_000 },
        };
        var runner = new ConflistRunner(conflist, CniPluginProcess.PluginDir);
        using var pod = new PodNamespace();
        string id = "c" + Guid.NewGuid().ToString("N");
        var result = runner.Add(id, pod.Path, "eth0", runtimeConfig);
        string hostName = (string)result["interfaces"]![0]!["name"]!;
        try
        {
            // portmap: the node's port 18080 reaches the pod's port 80.
            using var server = new PodServer(pod, 80, "hello-from-pod");
            var reply = Shell.Run("socat", "-T2", "-", $"TCP:{NodeAddress.V4}:18080,connect-timeout=2");
            Assert.Contains("hello-from-pod", reply.Stdout, StringComparison.Ordinal);
            // bandwidth: a tbf qdisc shapes traffic towards the pod on its host veth.
            Assert.Contains("tbf", Shell.Ok("tc", "qdisc", "show", "dev", hostName), StringComparison.Ordinal);
        }
        finally
        {
            runner.Del(id, pod.Path, "eth0", runtimeConfig, result);
        }
        Assert.False(HostLinks.Exists(hostName));
        Assert.Empty(network.StateFiles());
        Assert.DoesNotContain(id, Shell.Ok("iptables-save", "-t", "nat"), StringComparison.Ordinal);
    }
}
