namespace CniEgress.PolicyAgent.Sources;

/// <summary>Calls back on any file created, changed, deleted or renamed in a folder.</summary>
public static class FolderWatcher
{
    /// <summary>Null when the folder does not exist (the caller's bounded poll still reads it).</summary>
    public static FileSystemWatcher? Watch(string folder, Action changed)
    {
        if (!Directory.Exists(folder)) return null;
        var watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
        watcher.Created += (_, _) => changed();
        watcher.Changed += (_, _) => changed();
        watcher.Deleted += (_, _) => changed();
        watcher.Renamed += (_, _) => changed();
        watcher.EnableRaisingEvents = true;
        return watcher;
    }
}
