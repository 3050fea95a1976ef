using System.Net;
using System.Text;
using CniEgress.Files;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>The built-in IPAM's files: one file per allocated address (named by the address,
/// holding "containerID\nifname") and one last-reserved pointer per range set. Every change is
/// made under an exclusive flock and lands by rename, so a process killed at any instruction
/// leaves either no file or a complete one: never a torn owner, never a duplicate address.</summary>
public sealed class AllocationStore(string directory)
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);

    public string Directory => directory;

    public FileLock Lock()
    {
        System.IO.Directory.CreateDirectory(directory);
        return FileLock.Acquire(Path.Combine(directory, "lock"), LockTimeout);
    }

    /// <summary>Every allocated address and its owner; an unreadable owner stays in use (fail safe).</summary>
    public Dictionary<IPAddress, (string ContainerId, string IfName)?> ReadAll()
    {
        var result = new Dictionary<IPAddress, (string, string)?>();
        if (!System.IO.Directory.Exists(directory)) return result;
        foreach (string file in System.IO.Directory.EnumerateFiles(directory))
        {
            string name = Path.GetFileName(file);
            if (AtomicFile.IsTemporary(file) || !IPAddress.TryParse(name.Replace('_', ':'), out var address)) continue;
            result[address] = ReadOwner(file);
        }
        return result;
    }

    public void Reserve(IPAddress address, string containerId, string ifName) =>
        AtomicFile.WriteAllBytes(PathOf(address), Encoding.UTF8.GetBytes($"{containerId}\n{ifName}"));

    public void Release(IPAddress address) => AtomicFile.TryDelete(PathOf(address));

    public IPAddress? LastReserved(int rangeSet)
    {
        try
        {
            return IPAddress.TryParse(File.ReadAllText(LastReservedPath(rangeSet)).Trim(), out var a) ? a : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void SetLastReserved(int rangeSet, IPAddress address) =>
        AtomicFile.WriteAllBytes(LastReservedPath(rangeSet), Encoding.UTF8.GetBytes(address.ToString()));

    /// <summary>Removes temp files a killed writer left; they never count as allocations.</summary>
    public void SweepTemporaries()
    {
        if (!System.IO.Directory.Exists(directory)) return;
        foreach (string file in System.IO.Directory.EnumerateFiles(directory, "*.tmp")) AtomicFile.TryDelete(file);
    }

    // ':' is legal in Linux file names, but '_' keeps IPv6 names friendly to every tool.
    private string PathOf(IPAddress address) => Path.Combine(directory, address.ToString().Replace(':', '_'));

    private string LastReservedPath(int rangeSet) => Path.Combine(directory, $"last_reserved_ip.{rangeSet}");

    private static (string, string)? ReadOwner(string file)
    {
        try
        {
            string[] lines = File.ReadAllText(file).Split('\n');
            return lines.Length >= 2 && lines[0].Length > 0 ? (lines[0], lines[1].Trim()) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
