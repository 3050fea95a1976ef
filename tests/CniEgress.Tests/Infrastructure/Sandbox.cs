namespace CniEgress.Tests.Infrastructure;

/// <summary>Guards the machine's own network: kernel tests refuse to run in the initial
/// network namespace, whatever the caller forgot.</summary>
public static class Sandbox
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static bool IsRoot => Environment.UserName == "root" || Tmds.Linux.LibC.geteuid() == 0;

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Call first in every kernel test.</summary>
    public static void RequirePrivateNetworkNamespace()
    {
        if (Environment.GetEnvironmentVariable("CNI_EGRESS_SANDBOX") != "inner")
            throw new InvalidOperationException("kernel tests must run inside scripts/sandbox.sh (a private network namespace); refusing to touch this machine's own network");
        string mine = File.ResolveLinkTarget("/proc/self/ns/net", false)?.ToString() ?? "";
        string init = File.ResolveLinkTarget("/proc/1/ns/net", false)?.ToString() ?? "?";
        if (mine == init)
            throw new InvalidOperationException("this process shares the machine's initial network namespace; refusing to run a kernel test here");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CniEgress.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (CniEgress.sln) above " + AppContext.BaseDirectory);
    }
}
