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
        string mine = NamespaceOf("self") ?? "";
        // /proc/1/ns/net may be unreadable (pid 1 beyond our ptrace reach, as on this VM).
        // Then the witness is whoever launched scripts/sandbox.sh: the nearest ancestor whose
        // environment lacks the sandbox marker must sit in another network namespace.
        string? outside = NamespaceOf("1") ?? NamespaceOf(LauncherPid() ?? "");
        if (outside is null || outside == mine)
            throw new InvalidOperationException("this process shares the machine's initial network namespace (or cannot prove otherwise); refusing to run a kernel test here");
    }

    private static string? NamespaceOf(string pid)
    {
        try
        {
            return pid.Length == 0 ? null : new FileInfo($"/proc/{pid}/ns/net").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? LauncherPid()
    {
        string pid = "self";
        for (int depth = 0; depth < 64; depth++)
        {
            string? parent = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(line => line.StartsWith("PPid:", StringComparison.Ordinal))?[5..].Trim();
            if (parent is null or "0" or "1") return null;
            pid = parent;
            string environment;
            try
            {
                environment = File.ReadAllText($"/proc/{pid}/environ");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            if (!environment.Split('\0').Contains("CNI_EGRESS_SANDBOX=inner")) return pid;
        }
        return null;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CniEgress.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (CniEgress.sln) above " + AppContext.BaseDirectory);
    }
}
