namespace CniEgress.Files;

/// <summary>Write-to-temp then rename: a reader (or a process killed mid-write) sees either the
/// old content or the new, never a torn file. rename(2) is atomic within one filesystem.</summary>
public static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        string temp = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
        try
        {
            SmallFile.Write(temp, content);
            SmallFile.Rename(temp, path);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Temp files left by a killed writer carry this suffix; listings skip them.</summary>
    public static bool IsTemporary(string path) => path.EndsWith(".tmp", StringComparison.Ordinal);

    public static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
