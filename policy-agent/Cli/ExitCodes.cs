namespace CniEgress.PolicyAgent.Cli;

/// <summary>The debug commands' exit codes, for scripts (documented in the README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command could not do its job: kernel, capture or agent failure, not root.</summary>
    public const int Failed = 1;

    /// <summary>Bad input: unknown pod, bad address, no such NFLOG group.</summary>
    public const int BadInput = 2;

    /// <summary>`explain`: the flow is denied.</summary>
    public const int Denied = 3;

    /// <summary>`ruleset --diff` or `explain --kernel`: the kernel differs from the compiled state.</summary>
    public const int KernelDiffers = 4;
}

/// <summary>A failure the CLI reports in one line with <see cref="Code"/>.</summary>
public sealed class CliException(string message, int code = ExitCodes.Failed) : Exception(message)
{
    public int Code { get; } = code;
}
