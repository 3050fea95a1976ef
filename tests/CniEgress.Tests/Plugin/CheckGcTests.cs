using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

public class CheckGcTests
{
    private static string Id() => "c" + Guid.NewGuid().ToString("N");

    [KernelFact]
    public void Check_passes_after_add_and_detects_a_removed_address_or_route()
    {
        var network = new TestNetwork(ipv4: true, ipv6: true);
        using var pod = new PodNamespace();
        string id = Id();
        var add = network.Add(pod, id);
        Assert.True(add.ExitCode == 0, add.ToString());
        var ok = network.Check(pod, id, add.Json);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal("", ok.Stdout.Trim());

        Shell.Ok("ip", "-n", pod.Name, "-6", "route", "del", "default");
        var noRoute = network.Check(pod, id, add.Json);
        Assert.Equal(103, noRoute.ErrorCode);
        Assert.Contains("default route", (string)noRoute.Json["msg"]!, StringComparison.Ordinal);

        string v4 = (string)add.Json["ips"]![0]!["address"]!;
        Shell.Ok("ip", "-n", pod.Name, "addr", "del", v4, "dev", "eth0");
        var noAddress = network.Check(pod, id, add.Json);
        Assert.Equal(103, noAddress.ErrorCode);
        Assert.Contains(v4, (string)noAddress.Json["msg"]!, StringComparison.Ordinal);

        Assert.Equal(0, network.Del(id, pod.Path).ExitCode);
    }

    [KernelFact]
    public void Check_refuses_old_versions_and_missing_prevResult()
    {
        var network = new TestNetwork(version: "0.3.1");
        using var pod = new PodNamespace();
        var old = CniPluginProcess.Invoke("CHECK", network.Config, Id(), pod.Path);
        Assert.Equal(1, old.ErrorCode);
        var current = new TestNetwork();
        var noPrev = CniPluginProcess.Invoke("CHECK", current.Config, Id(), pod.Path);
        Assert.Equal(7, noPrev.ErrorCode);
        Assert.Contains("prevResult", (string)noPrev.Json["msg"]!, StringComparison.Ordinal);
    }

    [KernelFact]
    public void Gc_removes_every_attachment_that_is_not_valid()
    {
        var network = new TestNetwork();
        using var keep = new PodNamespace();
        using var drop1 = new PodNamespace();
        using var drop2 = new PodNamespace();
        string keepId = Id(), drop1Id = Id(), drop2Id = Id();
        var kept = network.Add(keep, keepId);
        var dropped = new[] { network.Add(drop1, drop1Id), network.Add(drop2, drop2Id) };
        Assert.All(dropped.Append(kept), r => Assert.Equal(0, r.ExitCode));

        var gc = network.Gc((keepId, "eth0"));
        Assert.True(gc.ExitCode == 0, gc.ToString());

        var links = HostLinks.OurVeths();
        Assert.Contains((string)kept.Json["interfaces"]![0]!["name"]!, links);
        foreach (var d in dropped) Assert.DoesNotContain((string)d.Json["interfaces"]![0]!["name"]!, links);
        Assert.Equal([$"attachments/{keepId}_eth0.json", "ipam/" + network.Name + "/" + ((string)kept.Json["ips"]![0]!["address"]!).Split('/')[0],
                $"ipam/{network.Name}/owners/{keepId}_eth0"],
            network.StateFiles().Select(f => f.Replace('\\', '/')));
        NodeAddress.Ensure();
        Assert.True(keep.Ping(NodeAddress.V4));

        Assert.Equal(0, network.Del(keepId, keep.Path).ExitCode);
        Assert.Empty(network.StateFiles());
    }

    [KernelFact]
    public void Status_is_ok_with_free_addresses_and_50_when_exhausted()
    {
        var network = new TestNetwork(prefix4: 30); // two usable addresses, one is the gateway
        var status = CniPluginProcess.Invoke("STATUS", network.Config);
        Assert.True(status.ExitCode == 0, status.ToString());
        using var pod = new PodNamespace();
        string id = Id();
        Assert.Equal(0, network.Add(pod, id).ExitCode);
        var exhausted = CniPluginProcess.Invoke("STATUS", network.Config);
        Assert.Equal(50, exhausted.ErrorCode);
        using var other = new PodNamespace();
        var noAddress = network.Add(other, Id());
        Assert.Equal(101, noAddress.ErrorCode);
        Assert.Equal(0, network.Del(id, pod.Path).ExitCode);
        Assert.Equal(0, CniPluginProcess.Invoke("STATUS", network.Config).ExitCode);
    }
}
