using System.Net;
using System.Text;
using CniEgress.Files;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>The built-in IPAM's files: one file per allocated address (named by the address,
/// holding "containerID\nifname"), one owner file per attachment (under owners/, listing the
/// addresses it claims) and one last-reserved pointer per range set. Every change is made under
/// an exclusive flock and lands by rename, so a process killed at any instruction leaves either
/// no file or a complete one: never a torn owner, never a duplicate address.
/// Invariant: an owner file is written before any address file it names, so every address
/// file is listed by its owner's file; ADD and DEL then read one owner file instead of every
/// address file (host-local reads them all on each call).</summary>
public sealed class AllocationStore(string directory)
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private readonly string ownersDirectory = Path.Combine(directory, "owners");

    public string Directory => directory;

    public FileLock Lock()
    {
        System.IO.Directory.CreateDirectory(ownersDirectory);
        return FileLock.Acquire(Path.Combine(directory, "lock"), LockTimeout);
    }

    /// <summary>Every allocated address, from the directory listing alone.</summary>
    public HashSet<IPAddress> ListAddresses()
    {
        var result = new HashSet<IPAddress>();
        if (!System.IO.Directory.Exists(directory)) return result;
        foreach (string file in System.IO.Directory.EnumerateFiles(directory))
            if (TryParseAddressFile(file, out var address)) result.Add(address);
        return result;
    }

    /// <summary>Every allocated address and its owner (for GC); an unreadable owner stays in use.</summary>
    public Dictionary<IPAddress, (string ContainerId, string IfName)?> ReadAll()
    {
        var result = new Dictionary<IPAddress, (string, string)?>();
        if (!System.IO.Directory.Exists(directory)) return result;
        foreach (string file in System.IO.Directory.EnumerateFiles(directory))
            if (TryParseAddressFile(file, out var address)) result[address] = ReadOwner(file);
        return result;
    }

    public (string ContainerId, string IfName)? OwnerOf(IPAddress address) => ReadOwner(PathOf(address));

    /// <summary>Whether the address has its file: one stat, whatever the number of addresses.</summary>
    public bool IsReserved(IPAddress address) => File.Exists(PathOf(address));

    /// <summary>The addresses an attachment's owner file claims (empty when it has none).</summary>
    public List<IPAddress> ClaimedBy(string containerId, string ifName)
    {
        var claimed = new List<IPAddress>();
        if (ReadSmallFile(OwnerPath(containerId, ifName)) is not { } text) return claimed;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(2))
            if (IPAddress.TryParse(line, out var address)) claimed.Add(address);
        return claimed;
    }

    public void SetClaims(string containerId, string ifName, IEnumerable<IPAddress> addresses) =>
        AtomicFile.WriteAllBytes(OwnerPath(containerId, ifName),
            Encoding.UTF8.GetBytes(string.Join('\n', [containerId, ifName, .. addresses.Select(a => a.ToString())])));

    public void DropClaims(string containerId, string ifName) => AtomicFile.TryDelete(OwnerPath(containerId, ifName));

    /// <summary>Owner files of every attachment (for GC).</summary>
    public IEnumerable<(string ContainerId, string IfName)> Owners()
    {
        if (!System.IO.Directory.Exists(ownersDirectory)) yield break;
        foreach (string file in System.IO.Directory.EnumerateFiles(ownersDirectory))
            if (!AtomicFile.IsTemporary(file) && ReadOwner(file) is { } owner) yield return owner;
    }

    public void Reserve(IPAddress address, string containerId, string ifName) =>
        AtomicFile.WriteAllBytes(PathOf(address), Encoding.UTF8.GetBytes($"{containerId}\n{ifName}"));

    public void Release(IPAddress address) => AtomicFile.TryDelete(PathOf(address));

    public IPAddress? LastReserved(int rangeSet) =>
        ReadSmallFile(LastReservedPath(rangeSet)) is { } text && IPAddress.TryParse(text.Trim(), out var a) ? a : null;

    public void SetLastReserved(int rangeSet, IPAddress address) =>
        AtomicFile.WriteAllBytes(LastReservedPath(rangeSet), Encoding.UTF8.GetBytes(address.ToString()));

    /// <summary>Removes temp files a killed writer left; they never count as allocations.</summary>
    public void SweepTemporaries()
    {
        foreach (string dir in new[] { directory, ownersDirectory })
        {
            if (!System.IO.Directory.Exists(dir)) continue;
            foreach (string file in System.IO.Directory.EnumerateFiles(dir, "*.tmp")) AtomicFile.TryDelete(file);
        }
    }

    private static bool TryParseAddressFile(string file, out IPAddress address)
    {
        address = IPAddress.None;
        string name = Path.GetFileName(file);
        return !AtomicFile.IsTemporary(file) && IPAddress.TryParse(name.Replace('_', ':'), out address!);
    }

    // ':' is legal in Linux file names, but '_' keeps IPv6 names friendly to every tool.
    private string PathOf(IPAddress address) => Path.Combine(directory, address.ToString().Replace(':', '_'));

    // Container IDs are [A-Za-z0-9_.-] and interface names hold no '/'; the file itself starts
    // with the owner's two lines, so the name never has to be split again.
    private string OwnerPath(string containerId, string ifName) => Path.Combine(ownersDirectory, $"{containerId}_{ifName}");

    private string LastReservedPath(int rangeSet) => Path.Combine(directory, $"last_reserved_ip.{rangeSet}");

    private static (string, string)? ReadOwner(string file)
    {
        if (ReadSmallFile(file) is not { } text) return null;
        string[] lines = text.Split('\n');
        return lines.Length >= 2 && lines[0].Length > 0 ? (lines[0], lines[1].Trim()) : null;
    }

    /// <summary>These files are a few bytes: read them without a StreamReader's buffers, which
    /// cost a CNI call more in page faults than the read itself.</summary>
    private static string? ReadSmallFile(string path)
    {
        try
        {
            return SmallFile.TryReadAll(path) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
