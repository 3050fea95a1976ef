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
        string trace = Path.GetTempFileName();
        try
        {
            var outcome = Shell.RunWithInput("strace", "{\"cniVersion\":\"1.1.0\"}",
                "-f", "-qq", "-e", "trace=openat", "-o", trace, "env", "CNI_COMMAND=VERSION", CniPluginProcess.Binary);
            Assert.True(outcome.ExitCode == 0, outcome.Stderr);
            Assert.Contains("\"supportedVersions\"", outcome.Stdout, StringComparison.Ordinal);
            string opened = File.ReadAllText(trace);
            Assert.Contains("/sys/devices/system/cpu/online", opened, StringComparison.Ordinal); // the trace saw the runtime start
            Assert.DoesNotContain("/proc/self/mountinfo", opened, StringComparison.Ordinal);
            Assert.DoesNotContain("/proc/self/cgroup", opened, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(trace);
        }
    }
}
