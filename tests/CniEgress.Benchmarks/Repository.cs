namespace CniEgress.Benchmarks;

/// <summary>Where the repository (and the published binaries in dist/) are.</summary>
internal static class Repository
{
    public static readonly string Root = Find();

    public static string Dist(string binary) => Path.Combine(Root, "dist", binary);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CniEgress.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
