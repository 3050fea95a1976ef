using System.Diagnostics;

namespace CniEgress.Tests.Infrastructure;

/// <summary>A TCP server inside a pod that answers every connection with a fixed line
/// (socat, forked per connection), stopped by its pid on dispose.</summary>
public sealed class PodServer : IDisposable
{
    private readonly Process process;

    public PodServer(PodNamespace pod, int port, string reply, bool ipv6 = false)
    {
        var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", pod.Name, "socat", "-U", $"{(ipv6 ? "TCP6" : "TCP")}-LISTEN:{port},reuseaddr,fork", $"SYSTEM:echo {reply}" })
            info.ArgumentList.Add(a);
        process = Process.Start(info)!;
        // Bounded wait until the port listens.
        for (int i = 0; i < 100; i++)
        {
            if (pod.Exec("ss", "-ltn", $"sport = :{port}").Stdout.Contains($":{port}", StringComparison.Ordinal)) return;
            Thread.Sleep(20);
        }
        Dispose();
        throw new InvalidOperationException($"server on port {port} in {pod.Name} did not start");
    }

    public void Dispose()
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        process.WaitForExit(5000);
        process.Dispose();
    }
}
