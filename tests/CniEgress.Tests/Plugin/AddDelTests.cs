using System.Text.Json.Nodes;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

/// <summary>ADD wires a pod that reaches the node and other pods; DEL leaves nothing behind.</summary>
public class AddDelTests
{
    private static string Id() => "c" + Guid.NewGuid().ToString("N");

    private static IEnumerable<string> PodAddresses(JsonObject result) =>
        result["ips"]!.AsArray().Select(ip => ((string)ip!["address"]!).Split('/')[0]);

    [KernelTheory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Pods_reach_the_node_and_each_other(bool ipv4, bool ipv6)
    {
        NodeAddress.Ensure();
        var network = new TestNetwork(ipv4: ipv4, ipv6: ipv6);
        using var podA = new PodNamespace();
        using var podB = new PodNamespace();
        string idA = Id(), idB = Id();
        var a = network.Add(podA, idA);
        Assert.True(a.ExitCode == 0, a.ToString());
        var b = network.Add(podB, idB);
        Assert.True(b.ExitCode == 0, b.ToString());

        if (ipv4) Assert.True(podA.Ping(NodeAddress.V4), "pod A cannot reach the node over IPv4");
        if (ipv6) Assert.True(podA.Ping(NodeAddress.V6), "pod A cannot reach the node over IPv6");
        foreach (string address in PodAddresses(b.Json))
            Assert.True(podA.Ping(address), $"pod A cannot reach pod B at {address}");
        Assert.Equal((ipv4 ? 1 : 0) + (ipv6 ? 1 : 0), PodAddresses(a.Json).Count());

        Assert.Equal(0, network.Del(idA, podA.Path).ExitCode);
        Assert.Equal(0, network.Del(idB, podB.Path).ExitCode);
        Assert.Empty(network.StateFiles());
        Assert.DoesNotContain(HostLinks.OurVeths(), l => l == (string)a.Json["interfaces"]![0]!["name"]!);
    }

    [KernelFact]
    public void Add_wires_addresses_routes_and_mtu_as_reported()
    {
        var network = new TestNetwork(ipv4: true, ipv6: true, mtu: 1400);
        using var pod = new PodNamespace();
        string id = Id();
        var result = network.Add(pod, id, args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=a;K8S_POD_UID=u1");
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json;
        string hostName = (string)json["interfaces"]![0]!["name"]!;
        Assert.Equal(1400, (int)json["interfaces"]![1]!["mtu"]!);
        Assert.Equal(pod.Path, (string)json["interfaces"]![1]!["sandbox"]!);

        string podAddrs = pod.Exec("ip", "-o", "addr", "show", "dev", "eth0").Stdout;
        foreach (var ip in json["ips"]!.AsArray())
        {
            string cidr = (string)ip!["address"]!;
            Assert.Contains(cidr, podAddrs, StringComparison.Ordinal);
            Assert.Equal(1, (int)ip["interface"]!);
            Assert.Contains(cidr.Split('/')[0] + " dev " + hostName, HostLinks.Routes(cidr.Contains(':') ? "-6" : "-4"), StringComparison.Ordinal);
        }
        Assert.Contains("mtu 1400", pod.Exec("ip", "link", "show", "eth0").Stdout, StringComparison.Ordinal);
        Assert.Contains("default via 169.254.1.1", pod.Exec("ip", "-4", "route").Stdout, StringComparison.Ordinal);
        Assert.Contains("default via fe80::1", pod.Exec("ip", "-6", "route").Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("tentative", pod.Exec("ip", "-6", "addr", "show", "dev", "eth0", "scope", "global").Stdout, StringComparison.Ordinal);

        // The node state record the policy agent reads.
        var record = JsonNode.Parse(File.ReadAllText(Path.Combine(network.StateDir, "attachments", $"{id}_eth0.json")))!;
        Assert.Equal(("x", "a", "u1", hostName), ((string)record["podNamespace"]!, (string)record["podName"]!, (string)record["podUid"]!, (string)record["hostInterface"]!));
        Assert.Equal(2, record["addresses"]!.AsArray().Count);

        Assert.Equal(0, network.Del(id, pod.Path).ExitCode);
        Assert.False(HostLinks.Exists(hostName));
        Assert.NotEqual(0, pod.Exec("ip", "link", "show", "eth0").ExitCode);
        Assert.DoesNotContain(hostName, HostLinks.Routes("-4"), StringComparison.Ordinal);
        Assert.Empty(network.StateFiles());
    }

    [KernelFact]
    public void The_host_veth_has_fe80_1_as_its_only_IPv6_address_and_still_reaches_the_pods_link_local()
    {
        using var dualStackPod = new PodNamespace();
        using var ipv4Pod = new PodNamespace();
        // The pod's own link-local address is usable at once, so the ping below can come from it.
        Assert.Equal(0, dualStackPod.Exec("sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0").ExitCode);
        var dualStack = new TestNetwork(ipv4: true, ipv6: true);
        var ipv4Only = new TestNetwork(ipv4: true, ipv6: false);
        string dualStackId = Id(), ipv4Id = Id();
        var a = dualStack.Add(dualStackPod, dualStackId);
        Assert.True(a.ExitCode == 0, a.ToString());
        var b = ipv4Only.Add(ipv4Pod, ipv4Id);
        Assert.True(b.ExitCode == 0, b.ToString());
        string dualStackHost = (string)a.Json["interfaces"]![0]!["name"]!, ipv4Host = (string)b.Json["interfaces"]![0]!["name"]!;

        // IPv6 forwarding is on now: any shorter prefix, the kernel's own fe80::/64 address
        // included, would join the anycast address fe80:: and make every DEL wait ~20 ms longer.
        Assert.Equal("fe80::1/128", Ipv6Addresses(dualStackHost));
        Assert.Equal("", Ipv6Addresses(ipv4Host));
        Assert.Equal("1", Shell.Ok("sysctl", "-n", "net.ipv6.conf.all.forwarding").Trim());
        foreach (string host in new[] { dualStackHost, ipv4Host })
            Assert.Contains("addrgenmode none", Shell.Ok("ip", "-d", "link", "show", "dev", host), StringComparison.Ordinal);
        // The echo comes from the pod's link-local address; the reply needs the host's fe80::/64 route.
        var ping = dualStackPod.Exec("ping", "-6", "-c", "1", "-W", "3", "fe80::1%eth0");
        Assert.True(ping.ExitCode == 0, ping.ToString());

        Assert.Equal(0, dualStack.Del(dualStackId, dualStackPod.Path).ExitCode);
        Assert.Equal(0, ipv4Only.Del(ipv4Id, ipv4Pod.Path).ExitCode);
        Assert.DoesNotContain("fe80::/64 dev " + dualStackHost, HostLinks.Routes("-6"), StringComparison.Ordinal);
    }

    private static string Ipv6Addresses(string link) => string.Join(' ',
        Shell.Ok("ip", "-6", "-o", "addr", "show", "dev", link).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]));

    [KernelFact]
    public void Del_is_idempotent_and_needs_neither_netns_nor_prevResult_nor_a_prior_add()
    {
        var network = new TestNetwork();
        using var pod = new PodNamespace();
        string id = Id();
        Assert.Equal(0, network.Del(id).ExitCode); // never added
        var add = network.Add(pod, id);
        Assert.Equal(0, add.ExitCode);
        Assert.Equal(0, network.Del(id, netns: "").ExitCode); // no netns, no prevResult
        Assert.Equal(0, network.Del(id, netns: "/run/netns/gone-away").ExitCode); // netns gone
        Assert.Equal(0, network.Del(id, pod.Path, prevResult: add.Json).ExitCode); // twice, with prevResult
        Assert.Empty(network.StateFiles());
        Assert.DoesNotContain((string)add.Json["interfaces"]![0]!["name"]!, HostLinks.OurVeths());
    }

    [KernelFact]
    public void Del_after_the_pod_namespace_is_gone_still_releases_everything()
    {
        var network = new TestNetwork();
        string id = Id();
        JsonObject result;
        string hostName;
        using (var pod = new PodNamespace())
        {
            result = network.Add(pod, id).Json;
            hostName = (string)result["interfaces"]![0]!["name"]!;
        }
        Assert.Equal(0, network.Del(id, "/run/netns/deleted").ExitCode);
        Assert.False(HostLinks.Exists(hostName));
        Assert.Empty(network.StateFiles());
    }

    [KernelTheory]
    [InlineData("0.3.0")]
    [InlineData("0.3.1")]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void Results_come_back_in_the_callers_version(string version)
    {
        var network = new TestNetwork(version: version);
        using var pod = new PodNamespace();
        string id = Id();
        var add = network.Add(pod, id);
        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.Equal(version, (string)add.Json["cniVersion"]!);
        Assert.Equal(version.StartsWith("0.", StringComparison.Ordinal), add.Json["ips"]![0]!.AsObject().ContainsKey("version"));
        Assert.Equal(0, network.Del(id, pod.Path).ExitCode);
    }
}
