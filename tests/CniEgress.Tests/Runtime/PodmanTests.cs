using System.Globalization;
using System.Text.Json.Nodes;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Runtime;

/// <summary>A real container runtime drives the plugin: podman (CNI backend, runc) runs two
/// containers on a conflist of cni-egress chained with Debian's portmap and bandwidth.</summary>
public class PodmanTests
{
    [PodmanFact]
    public void Podman_containers_get_addresses_reach_each_other_and_leave_nothing_behind()
    {
        NodeAddress.Ensure();
        int n = Environment.ProcessId % 200;
        string network = "podnet" + n.ToString(CultureInfo.InvariantCulture);
        string stateDir = "/run/cni-egress-test/" + network;
        var plugins = new JsonArray(
            new JsonObject
            {
                ["type"] = "cni-egress",
                ["stateDir"] = stateDir,
                ["policyAgent"] = "off",
                ["ipam"] = new JsonObject
                {
                    ["type"] = "cni-egress",
                    ["ranges"] = new JsonArray(
                        new JsonArray(new JsonObject { ["subnet"] = $"10.249.{n}.0/24" }),
                        new JsonArray(new JsonObject { ["subnet"] = $"fd00:249:{n:x}::/120" })),
                },
            },
            new JsonObject { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } },
            new JsonObject { ["type"] = "bandwidth", ["capabilities"] = new JsonObject { ["bandwidth"] = true } });
        using var podman = new PodmanHost(network, plugins);

        podman.Run("run", "-d", "--name", "server", "--network", network, "-p", "18081:8080", PodmanHost.Image,
            "sh", "-c", "while true; do echo hello-from-podman | nc -l -p 8080; done");
        podman.Run("run", "-d", "--name", "client", "--network", network, PodmanHost.Image, "sleep", "120");
        string serverIp = podman.IpAddress("server");
        Assert.StartsWith($"10.249.{n}.", serverIp, StringComparison.Ordinal);

        // The plugin's wiring as the container sees it: /32 and /128 on eth0, default via our gateway.
        string addresses = podman.Run("exec", "server", "ip", "-o", "addr", "show", "dev", "eth0");
        Assert.Contains(serverIp + "/32", addresses, StringComparison.Ordinal);
        Assert.Contains($"fd00:249:{n:x}::", addresses, StringComparison.Ordinal);
        Assert.Contains("default via 169.254.1.1", podman.Run("exec", "server", "ip", "route"), StringComparison.Ordinal);

        // Container to container through the node, by ping and by TCP.
        podman.Run("exec", "client", "ping", "-c", "1", "-W", "3", serverIp);
        Assert.Contains("hello-from-podman", podman.Run("exec", "client", "nc", "-w", "3", serverIp, "8080"), StringComparison.Ordinal);
        // portmap chained after us: the node's port 18081 reaches the server container.
        var viaHostPort = Shell.Run("socat", "-T3", "-", $"TCP:{NodeAddress.V4}:18081,connect-timeout=3");
        Assert.Contains("hello-from-podman", viaHostPort.Stdout, StringComparison.Ordinal);

        var hostLinks = AttachmentHostLinks(stateDir);
        Assert.Equal(2, hostLinks.Count);
        Assert.All(hostLinks, link => Assert.True(HostLinks.Exists(link), link + " should exist while the container runs"));

        podman.Run("rm", "-f", "-t", "0", "server", "client");

        Assert.Equal(0, podman.ContainerCount());
        Assert.Empty(AttachmentHostLinks(stateDir));
        Assert.All(hostLinks, link => Assert.False(HostLinks.Exists(link), link + " should be gone after podman rm"));
        Assert.Empty(AllocatedAddresses(stateDir, network));
        Assert.DoesNotContain($"10.249.{n}.", HostLinks.Routes(), StringComparison.Ordinal);
        Assert.DoesNotContain("18081", Shell.Ok("iptables-save", "-t", "nat"), StringComparison.Ordinal);
    }

    private static List<string> AttachmentHostLinks(string stateDir)
    {
        string dir = Path.Combine(stateDir, "attachments");
        if (!Directory.Exists(dir)) return [];
        return Directory.GetFiles(dir, "*.json")
            .Select(f => (string)JsonNode.Parse(File.ReadAllText(f))!["hostInterface"]!)
            .ToList();
    }

    /// <summary>The built-in IPAM's files that hold an address (not its lock or cursor files).</summary>
    private static List<string> AllocatedAddresses(string stateDir, string network)
    {
        string dir = Path.Combine(stateDir, "ipam", network);
        if (!Directory.Exists(dir)) return [];
        return Directory.GetFiles(dir).Select(Path.GetFileName).OfType<string>()
            .Where(f => f != "lock" && !f.StartsWith("last_reserved_ip", StringComparison.Ordinal)).ToList();
    }
}
