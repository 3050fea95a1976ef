using System.Collections.Concurrent;
using System.Diagnostics;

namespace CniEgress.Tests.Infrastructure;

/// <summary>egress-agent (the build next to the tests) running in a node namespace; its log lines
/// are kept for assertions. Disposing kills it if it still runs.</summary>
public sealed class AgentProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();

    private AgentProcess(Process process)
    {
        this.process = process;
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lines.Enqueue(e.Data); };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lines.Enqueue(e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "egress-agent.dll");

    /// <summary>The shipped native-AOT binary (./build.sh; test.sh builds it first).</summary>
    public static string Native => Path.Combine(Sandbox.RepoRoot, "dist", "egress-agent");

    public static AgentProcess Start(PodNamespace node, params string[] arguments) => Start(node, ["dotnet", Dll], arguments);

    /// <summary>As <see cref="Start(PodNamespace, string[])"/>, with the native binary of dist/.</summary>
    public static AgentProcess StartNative(PodNamespace node, params string[] arguments) => Start(node, [Native], arguments);

    private static AgentProcess Start(PodNamespace node, string[] program, string[] arguments)
    {
        var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "netns", "exec", node.Name }.Concat(program).Concat(arguments)) info.ArgumentList.Add(a);
        return new AgentProcess(Process.Start(info)!);
    }

    /// <summary>Runs egress-agent to completion (bounded) in the node namespace.</summary>
    public static Processes.ProcessRunner.Outcome RunOnce(PodNamespace node, params string[] arguments) =>
        Shell.Run("ip", ["netns", "exec", node.Name, "dotnet", Dll, .. arguments]);

    /// <summary>As <see cref="RunOnce"/>, with the native binary of dist/.</summary>
    public static Processes.ProcessRunner.Outcome RunNative(PodNamespace node, params string[] arguments) =>
        Shell.Run("ip", ["netns", "exec", node.Name, Native, .. arguments]);

    public string Log => string.Join('\n', lines);

    /// <summary>True once the process has ended and every line it wrote is in <see cref="Log"/>
    /// (the output events can lag behind the exit).</summary>
    public bool HasExited
    {
        get
        {
            if (!process.HasExited) return false;
            process.WaitForExit(); // returns once the redirected streams reached their end
            return true;
        }
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
    }

    /// <summary>Waits (bounded) for a log line containing <paramref name="text"/>.</summary>
    public bool WaitForLog(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>Waits (bounded) until the first reading is in the kernel and the agent answers
    /// CNI ADDs and debug queries (it says so once its socket listens).</summary>
    public bool WaitUntilServing(TimeSpan timeout) => WaitForLog("serving CNI ADDs", timeout);

    public void Dispose()
    {
        if (!process.HasExited) Kill();
        process.Dispose();
    }
}
