namespace CniEgress.Tests.Infrastructure;

/// <summary>A pod's network namespace (`ip netns add` inside the sandbox), deleted on dispose.</summary>
public sealed class PodNamespace : IDisposable
{
    private static int counter;

    public PodNamespace(string? name = null)
    {
        Sandbox.RequirePrivateNetworkNamespace();
        Name = name ?? $"pod{Environment.ProcessId % 1000}x{Interlocked.Increment(ref counter)}";
        Shell.Ok("ip", "netns", "add", Name);
        Shell.Ok("ip", "-n", Name, "link", "set", "lo", "up");
    }

    public string Name { get; }

    public string Path => "/run/netns/" + Name;

    public Processes.ProcessRunner.Outcome Exec(params string[] command) => Shell.Run("ip", ["netns", "exec", Name, .. command]);

    /// <summary>One ICMP echo with a one-second bound.</summary>
    public bool Ping(string address) =>
        Exec("ping", address.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "-c", "1", "-W", "1", address).ExitCode == 0;

    public void Dispose() => Shell.Run("ip", "netns", "del", Name);
}
