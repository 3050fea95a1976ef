using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace CniEgress.Tests.Netlink;

/// <summary>Runs iproute2/nft to check kernel state independently of the code under test.
/// Bounded: a command still running after the timeout is killed by its pid.</summary>
internal static class Command
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public sealed record Result(int Status, string Output, string Error);

    /// <summary>Runs the command and returns its stdout; a non-zero exit throws.</summary>
    public static string Run(string file, params string[] arguments)
    {
        var result = Execute(file, arguments);
        return result.Status == 0
            ? result.Output
            : throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {result.Status}: {result.Error}");
    }

    public static JsonNode Json(string file, params string[] arguments) =>
        JsonNode.Parse(Run(file, arguments)) ?? throw new InvalidOperationException($"{file} printed no JSON");

    public static Result Execute(string file, params string[] arguments) => Execute(file, arguments, input: null);

    public static Result Execute(string file, string[] arguments, string? input)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        var output = new StringBuilder();
        var error = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (error) error.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (input != null) process.StandardInput.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(Timeout);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {Timeout.TotalSeconds} s; killed pid {process.Id}");
        }
        process.WaitForExit(); // drains the redirected streams
        lock (output) lock (error) return new Result(process.ExitCode, output.ToString(), error.ToString());
    }
}
