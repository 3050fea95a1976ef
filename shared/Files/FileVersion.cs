using CniEgress.Interop;

namespace CniEgress.Files;

/// <summary>Which version of a file a path holds, for files that are only ever replaced by
/// rename (<see cref="AtomicFile"/>): every new version is a new inode, so it tells versions
/// apart even when they were written within one tick of the file clock and have the same size.
/// One lstat, no allocation.</summary>
public readonly record struct FileVersion(ulong Inode, long ModifiedNanoseconds, long Size)
{
    /// <summary>Null when the file is gone.</summary>
    /// <exception cref="IOException">the file cannot be examined for another reason.</exception>
    public static FileVersion? Of(string path)
    {
        if (Syscalls.TryLinkStatus(path, out ulong inode, out long modified, out long size, out int errno))
            return new FileVersion(inode, modified, size);
        if (errno == Errno.ENOENT || errno == Errno.ENOTDIR) return null;
        throw new IOException($"lstat {path}: {Errno.Describe(errno)} (errno {errno})");
    }
}
