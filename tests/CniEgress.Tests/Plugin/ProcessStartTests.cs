using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

/// <summary>What the plugin's process does before it reads its config: every CNI call pays it.</summary>
public class ProcessStartTests
{
    [Fact]
    public void A_call_does_not_scan_the_nodes_mount_table_or_cgroups()
    {
        // The runtime's cgroup discovery reads /proc/self/mountinfo, which grows with every pod on a
        // node; the plugin links a shim that skips it (cni-plugin/Native/skip-cgroup-discovery.c).
        string opened = TraceVersion("openat");
        Assert.Contains("/sys/devices/system/cpu/online", opened, StringComparison.Ordinal); // the trace saw the runtime start
        Assert.DoesNotContain("/proc/self/mountinfo", opened, StringComparison.Ordinal);
        Assert.DoesNotContain("/proc/self/cgroup", opened, StringComparison.Ordinal);
    }

    [Fact]
    public void A_call_starts_no_thread()
    {
        // The runtime would start its finalizer thread before Main; the plugin links a shim that
        // declines it (cni-plugin/Native/no-finalizer-thread.c).
        string calls = TraceVersion("clone,clone3,execve");
        Assert.Contains(CniPluginProcess.Binary, calls, StringComparison.Ordinal); // the trace saw the plugin's exec
        Assert.DoesNotContain("clone", calls, StringComparison.Ordinal);
    }

    /// <summary>The given system calls of one VERSION call, as strace prints them.</summary>
    private static string TraceVersion(string syscalls)
    {
        string trace = Path.GetTempFileName();
        try
        {
            var outcome = Shell.RunWithInput("strace", "{\"cniVersion\":\"1.1.0\"}",
                "-f", "-qq", "-e", "trace=" + syscalls, "-o", trace, "env", "CNI_COMMAND=VERSION", CniPluginProcess.Binary);
            Assert.True(outcome.ExitCode == 0, outcome.Stderr);
            Assert.Contains("\"supportedVersions\"", outcome.Stdout, StringComparison.Ordinal);
            return File.ReadAllText(trace);
        }
        finally
        {
            File.Delete(trace);
        }
    }

    [KernelFact]
    public void An_add_starts_no_thread_and_wires_the_pod()
    {
        NodeAddress.Ensure();
        using var add = new TracedAdd(new TestNetwork(ipv4: true, ipv6: true), "clone,clone3,socket");
        Assert.True(add.Response.ExitCode == 0, add.Response.ToString());
        Assert.Equal(2, add.Response.Json["ips"]!.AsArray().Count);
        Assert.True(add.Pod.Ping(NodeAddress.V4), "the pod wired under strace cannot reach the node over IPv4");
        Assert.True(add.Pod.Ping(NodeAddress.V6), "the pod wired under strace cannot reach the node over IPv6");
        Assert.Contains("socket(AF_NETLINK", add.Trace, StringComparison.Ordinal); // the trace saw the netlink sockets
        Assert.DoesNotContain("clone", add.Trace, StringComparison.Ordinal);
    }
}
