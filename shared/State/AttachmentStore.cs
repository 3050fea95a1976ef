namespace CniEgress.State;

/// <summary>The node state directory: one JSON file per attachment under
/// &lt;stateDir&gt;/attachments, written atomically, removed on DEL and GC.</summary>
public sealed class AttachmentStore
{
    public AttachmentStore(string stateDir)
    {
        Directory = Path.Combine(stateDir, "attachments");
    }

    public string Directory { get; }

    public void Write(AttachmentRecord record)
    {
        System.IO.Directory.CreateDirectory(Directory);
        byte[] json = AttachmentRecordJson.Serialize(record);
        Files.AtomicFile.WriteAllBytes(PathOf(record.ContainerId, record.IfName), json);
    }

    public AttachmentRecord? Read(string containerId, string ifName) => TryLoad(PathOf(containerId, ifName));

    public void Delete(string containerId, string ifName) => Files.AtomicFile.TryDelete(PathOf(containerId, ifName));

    /// <summary>Every readable record; an unreadable file is skipped here and reported by
    /// <paramref name="unreadable"/> so GC can remove it.</summary>
    public IReadOnlyList<AttachmentRecord> List(ICollection<string>? unreadable = null)
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var records = new List<AttachmentRecord>();
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory))
        {
            if (Files.AtomicFile.IsTemporary(file))
            {
                unreadable?.Add(file);
                continue;
            }
            if (TryLoad(file) is { } record) records.Add(record);
            else unreadable?.Add(file);
        }
        records.Sort((a, b) => string.CompareOrdinal(a.ContainerId + "/" + a.IfName, b.ContainerId + "/" + b.IfName));
        return records;
    }

    public string PathOf(string containerId, string ifName) => Path.Combine(Directory, $"{containerId}_{ifName}.json");

    /// <summary>One record file by its path (as <see cref="List"/> finds them); null when unreadable or gone.</summary>
    public static AttachmentRecord? TryLoad(string path)
    {
        try
        {
            return Files.SmallFile.TryReadAll(path) is { } bytes ? AttachmentRecordJson.Parse(bytes) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
