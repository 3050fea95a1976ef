using System.Text;
using CniEgress.Processes;

namespace CniEgress.Tests.Infrastructure;

/// <summary>Runs helper commands (ip, nft, ping) with a bounded time.</summary>
public static class Shell
{
    public static ProcessRunner.Outcome Run(string executable, params string[] arguments) =>
        ProcessRunner.Run(executable, arguments, [], TimeSpan.FromSeconds(20));

    public static string Ok(string executable, params string[] arguments)
    {
        var outcome = Run(executable, arguments);
        if (outcome.ExitCode != 0)
            throw new InvalidOperationException($"{executable} {string.Join(' ', arguments)} exited {outcome.ExitCode}: {outcome.Stderr}{outcome.Stdout}");
        return outcome.Stdout;
    }

    public static ProcessRunner.Outcome RunWithInput(string executable, string stdin, params string[] arguments) =>
        ProcessRunner.Run(executable, arguments, Encoding.UTF8.GetBytes(stdin), TimeSpan.FromSeconds(20));
}
