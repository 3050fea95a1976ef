using System.Diagnostics;

namespace CniEgress.Processes;

/// <summary>The one place that starts child processes: bounded in time, stdin fed, both
/// outputs captured, the child killed by its pid when it overstays.</summary>
public static class ProcessRunner
{
    public sealed record Outcome(int ExitCode, string Stdout, string Stderr);

    public static Outcome Run(string executable, IReadOnlyList<string> arguments, ReadOnlySpan<byte> stdin,
        TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        if (environment != null)
            foreach (var (key, value) in environment) info.Environment[key] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var input = process.StandardInput.BaseStream;
            input.Write(stdin);
        }
        catch (IOException)
        {
            // The child exited without reading all of stdin; its exit code tells the story.
        }
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(executable)} did not finish within {timeout.TotalSeconds:0.#}s");
        }
        process.WaitForExit();
        return new Outcome(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
