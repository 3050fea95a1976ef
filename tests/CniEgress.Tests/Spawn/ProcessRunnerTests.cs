using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using CniEgress.Processes;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Spawn;

/// <summary>The spawn behind every child the plugin and the agent start (delegated IPAM, nft):
/// what goes in and comes out, what the child inherits, and what a hung or missing one gets.</summary>
public class ProcessRunnerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Stdin_reaches_the_child_and_both_outputs_and_the_exit_code_come_back()
    {
        var outcome = ProcessRunner.Run("/bin/sh", ["-c", "cat; echo to-stderr >&2; exit 3"], "from stdin"u8, Timeout);
        Assert.Equal(3, outcome.ExitCode);
        Assert.Equal("from stdin", outcome.Stdout);
        Assert.Equal("to-stderr\n", outcome.Stderr);
    }

    [Fact]
    public void Input_and_output_larger_than_a_pipe_buffer_do_not_deadlock()
    {
        // 1 MiB each way: the child writes while the runner is still feeding its stdin.
        byte[] input = Encoding.ASCII.GetBytes(new string('x', 1 << 20));
        var outcome = ProcessRunner.Run("/bin/cat", [], input, Timeout);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(input.Length, outcome.Stdout.Length);
    }

    [Fact]
    public void A_bare_name_is_found_in_PATH_and_the_environment_is_this_one_with_the_overrides()
    {
        var outcome = ProcessRunner.Run("sh", ["-c", "echo \"$CNI_COMMAND $HOME\""], [], Timeout,
            new Dictionary<string, string> { ["CNI_COMMAND"] = "ADD" });
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal($"ADD {Environment.GetEnvironmentVariable("HOME")}\n", outcome.Stdout);
    }

    [Fact]
    public void The_child_ignores_and_blocks_no_standard_signal_whatever_the_runtime_does()
    {
        // .NET ignores SIGPIPE for itself; an ignored signal would survive exec into every child.
        // (Signals 32 and 33 belong to glibc, which no spawn can reset; its own start-up sets them.)
        var outcome = ProcessRunner.Run("/bin/sh", ["-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"], [], Timeout);
        var masks = outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(l => l.Split(':')[0], l => Convert.ToUInt64(l.Split('\t')[1], 16));
        const ulong standardSignals = 0x7fff_ffff; // 1..31
        Assert.Equal(0UL, masks["SigIgn"] & standardSignals);
        Assert.Equal(0UL, masks["SigBlk"]);
    }

    [Fact]
    public void A_child_killed_by_a_signal_exits_with_128_plus_the_signal()
    {
        var outcome = ProcessRunner.Run("/bin/sh", ["-c", "kill -TERM $$"], [], Timeout);
        Assert.Equal(128 + 15, outcome.ExitCode);
    }

    [Fact]
    public void A_missing_executable_is_a_Win32Exception_that_names_it()
    {
        var e = Assert.Throws<Win32Exception>(() => ProcessRunner.Run("/nonexistent/nft", [], [], Timeout));
        Assert.Equal(2, e.NativeErrorCode); // ENOENT
        Assert.Contains("/nonexistent/nft", e.Message, StringComparison.Ordinal);
        Assert.Throws<Win32Exception>(() => ProcessRunner.Run("no-such-command-anywhere", [], [], Timeout));
    }

    [Fact]
    public void A_child_that_overstays_is_killed_with_what_it_started_and_the_runner_says_so()
    {
        string marker = Path.Combine(Path.GetTempPath(), $"runner-grandchild-{Guid.NewGuid():N}");
        var clock = Stopwatch.StartNew();
        // The grandchild holds no pipe of ours: only the process-group kill can end it.
        var e = Assert.Throws<TimeoutException>(() => ProcessRunner.Run("/bin/sh",
            ["-c", $"sleep 30 >/dev/null 2>&1 & echo $! > {marker}; sleep 30"], [], TimeSpan.FromMilliseconds(500)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
        Assert.Contains("sh did not finish within 0.5s", e.Message, StringComparison.Ordinal);
        int grandchild = int.Parse(File.ReadAllText(marker).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        File.Delete(marker);
        Assert.True(Wait.Until(() => !IsRunning(grandchild), TimeSpan.FromSeconds(5)), $"grandchild {grandchild} still runs");
    }

    /// <summary>Alive and not a zombie waiting for its parent (init reaps the killed grandchild).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            string status = File.ReadAllText($"/proc/{pid}/status");
            return !status.Contains("State:\tZ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
