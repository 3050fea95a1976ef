namespace CniEgress.Tests.Infrastructure;

/// <summary>Guards the machine's own network: kernel tests refuse to run in the namespace that
/// scripts/sandbox.sh was started from, whatever the caller forgot.</summary>
public static class Sandbox
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static bool IsRoot => Environment.UserName == "root" || Tmds.Linux.LibC.geteuid() == 0;

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Call first in every kernel test. sandbox.sh records the namespace it leaves
    /// (/proc/1/ns/net may be unreadable even to root, as on this VM), and we must not be in it.</summary>
    public static void RequirePrivateNetworkNamespace()
    {
        if (Environment.GetEnvironmentVariable("CNI_EGRESS_SANDBOX") != "inner")
            throw new InvalidOperationException("kernel tests must run inside scripts/sandbox.sh (a private network namespace); refusing to touch this machine's own network");
        string mine = new FileInfo("/proc/self/ns/net").LinkTarget ?? "";
        string outer = Environment.GetEnvironmentVariable("CNI_EGRESS_OUTER_NETNS") ?? "";
        if (mine.Length == 0 || outer.Length == 0 || mine == outer)
            throw new InvalidOperationException("this process shares the network namespace sandbox.sh was started from; refusing to run a kernel test here");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CniEgress.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (CniEgress.sln) above " + AppContext.BaseDirectory);
    }
}
