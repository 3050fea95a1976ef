namespace CniEgress.PolicyAgent.Sources;

/// <summary>What a file looked like when it was read, to tell whether it may have changed since.
/// File times may tick coarsely (a jiffy on older kernels, whole seconds on some file systems), so
/// a file rewritten within the same tick with the same size would look unchanged: a file modified
/// less than three seconds before it was read counts as changed until a later reading (git's
/// "racily clean" rule; the text is compared then, so nothing is parsed for nothing). Take the stamp before reading the
/// contents, so a write in between shows up as a newer time next time.</summary>
internal readonly record struct FileStamp(DateTime Written, long Length, DateTime ReadAt)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    public static FileStamp Take(string path)
    {
        var info = new FileInfo(path);
        return new FileStamp(info.LastWriteTimeUtc, info.Exists ? info.Length : -1, DateTime.UtcNow);
    }

    /// <summary>True when <paramref name="now"/> (a fresh stamp) shows the file as it was read.</summary>
    public bool Unchanged(FileStamp now) => now.Written == Written && now.Length == Length && ReadAt - Written > Settle;
}
