using System.Net;
using System.Text.Json.Nodes;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

/// <summary>ipam.type naming another plugin: Debian's host-local, exec'd from CNI_PATH with our config.</summary>
public class DelegatedIpamTests
{
    private static string HostLocalDir(TestNetwork network) => Path.Combine(network.StateDir, "host-local", network.Name);

    /// <summary>Debian's host-local speaks up to 1.0.0, so a 1.1.0 ADD passes only if the plugin hands
    /// it the config rewritten as 1.0.0; 0.3.1 results carry "version" in each IP.</summary>
    [KernelTheory]
    [InlineData("0.3.1")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void Host_local_allocates_the_pod_addresses_and_DEL_releases_them(string version)
    {
        NodeAddress.Ensure();
        var network = new TestNetwork(version: version, ipv4: true, ipv6: true, ipamType: "host-local");
        using var pod = new PodNamespace();
        string id = "c" + Guid.NewGuid().ToString("N");
        var add = network.Add(pod, id);
        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.Equal(version, (string)add.Json["cniVersion"]!);

        var addresses = add.Json["ips"]!.AsArray().Select(ip => (string)ip!["address"]!).ToList();
        Assert.Equal(2, addresses.Count);
        var v4 = IPNetwork.Parse(network.Subnet4);
        var v6 = IPNetwork.Parse(network.Subnet6);
        Assert.Contains(addresses, a => v4.Contains(IPAddress.Parse(a.Split('/')[0])));
        Assert.Contains(addresses, a => v6.Contains(IPAddress.Parse(a.Split('/')[0])));
        string podAddresses = pod.Exec("ip", "-o", "addr", "show", "dev", "eth0").Stdout;
        foreach (string address in addresses)
        {
            string ip = address.Split('/')[0];
            Assert.Contains(ip, podAddresses, StringComparison.Ordinal);
            // host-local keeps one file per address it handed out.
            Assert.True(File.Exists(Path.Combine(HostLocalDir(network), ip)), $"host-local has no record of {ip}");
        }
        Assert.True(pod.Ping(NodeAddress.V4), "the pod cannot reach the node");

        Assert.Equal(0, network.Del(id, pod.Path, prevResult: add.Json).ExitCode);
        Assert.Empty(network.StateFiles());
    }

    [KernelFact]
    public void A_failure_after_the_delegate_allocated_releases_the_address_through_it()
    {
        var network = new TestNetwork(ipamType: "host-local");
        using var pod = new PodNamespace();
        Shell.Ok("ip", "-n", pod.Name, "link", "add", "eth0", "type", "veth", "peer", "name", "other0");
        var add = network.Add(pod, "bad");
        Assert.NotEqual(0, add.ExitCode);
        Assert.Contains("eth0", (string)add.Json["msg"]!, StringComparison.Ordinal);
        Assert.True(Directory.Exists(HostLocalDir(network)), "host-local was never called");
        Assert.Empty(network.StateFiles());
        Assert.DoesNotContain(HostLinks.OurVeths(), l => l == CniEgress.CniPlugin.Wiring.HostInterfaceName.For("bad", "eth0"));
    }

    [KernelFact]
    public void The_delegates_own_error_travels_up_with_its_code()
    {
        // host-local refuses a range outside its subnet with its own error JSON on stdout.
        var network = new TestNetwork(ipamType: "host-local");
        string config = network.With(j => j["ipam"]!["ranges"] = JsonNode.Parse("""[[{"subnet": "10.9.0.0/24", "rangeStart": "10.9.1.5"}]]"""));
        using var pod = new PodNamespace();
        var add = CniPluginProcess.Invoke("ADD", config, "bad", pod.Path);
        Assert.NotEqual(0, add.ExitCode);
        Assert.Contains("IPAM plugin 'host-local'", (string)add.Json["msg"]!, StringComparison.Ordinal);
        Assert.Empty(network.StateFiles());
    }
}
