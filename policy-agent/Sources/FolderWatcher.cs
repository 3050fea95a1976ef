namespace CniEgress.PolicyAgent.Sources;

/// <summary>Calls back on any file created, changed, deleted or renamed in a folder.</summary>
public static class FolderWatcher
{
    /// <summary>Null when the folder does not exist (the caller's bounded poll still reads it).</summary>
    public static FileSystemWatcher? Watch(string folder, Action changed) => Watch(folder, _ => changed());

    /// <summary>Names each path an event is about (both of a rename); null when events were lost
    /// (the watcher's buffer overflowed), so anything may have changed.</summary>
    public static FileSystemWatcher? Watch(string folder, Action<string?> changed)
    {
        if (!Directory.Exists(folder)) return null;
        var watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
        watcher.Created += (_, e) => changed(e.FullPath);
        watcher.Changed += (_, e) => changed(e.FullPath);
        watcher.Deleted += (_, e) => changed(e.FullPath);
        watcher.Renamed += (_, e) =>
        {
            changed(e.OldFullPath);
            changed(e.FullPath);
        };
        watcher.Error += (_, _) => changed(null);
        watcher.EnableRaisingEvents = true;
        return watcher;
    }
}
