using CniEgress.Interop;

namespace CniEgress.Files;

/// <summary>Whole small files (attachment records, IPAM claims, /proc/sys values) in raw
/// syscalls. A CNI call writes four and reads a few, and FileStream's set-up (strategy objects,
/// an fstat and an advisory flock per open, a buffer for every read) costs a short-lived
/// native-AOT process more in page faults and syscalls than the I/O itself.</summary>
public static class SmallFile
{
    /// <returns>The contents, or null when there is no such file.</returns>
    /// <exception cref="IOException">it exists and cannot be read.</exception>
    public static byte[]? TryReadAll(string path)
    {
        int fd = Syscalls.OpenFile(path, Syscalls.ReadOnly, out int errno);
        if (fd < 0) return errno == Errno.ENOENT ? null : throw Failed("open", path, errno);
        using var handle = new FileDescriptorHandle(fd);
        var buffer = GC.AllocateUninitializedArray<byte>(256);
        int length = Syscalls.ReadToEnd(fd, ref buffer, out errno);
        if (length < 0) throw Failed("read", path, errno);
        return buffer[..length];
    }

    /// <summary>Creates or truncates the file and writes <paramref name="content"/> into it.</summary>
    /// <exception cref="IOException">it cannot be written.</exception>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        int fd = Syscalls.OpenFile(path, Syscalls.CreateOrTruncateForWriting, out int errno);
        if (fd < 0) throw Failed("create", path, errno);
        using var handle = new FileDescriptorHandle(fd);
        errno = Syscalls.WriteAll(fd, content);
        if (errno != 0) throw Failed("write", path, errno);
    }

    /// <exception cref="IOException">the rename failed.</exception>
    public static void Rename(string from, string to)
    {
        int errno = Syscalls.Rename(from, to);
        if (errno != 0) throw Failed($"rename {from} to", to, errno);
    }

    /// <summary>An exclusive flock on the (created if missing) file, held until the handle is
    /// disposed; null while someone else holds one.</summary>
    /// <exception cref="IOException">the file cannot be opened or locked.</exception>
    internal static FileDescriptorHandle? TryLock(string path)
    {
        int fd = Syscalls.OpenFile(path, Syscalls.CreateForLocking, out int errno);
        if (fd < 0) throw Failed("open", path, errno);
        var handle = new FileDescriptorHandle(fd);
        errno = Syscalls.Flock(fd, Syscalls.LOCK_EX | Syscalls.LOCK_NB);
        if (errno == 0) return handle;
        handle.Dispose();
        return errno == Syscalls.WouldBlock ? null : throw Failed("lock", path, errno);
    }

    private static IOException Failed(string operation, string path, int errno) =>
        new($"{operation} {path}: {Errno.Describe(errno)} (errno {errno})");
}
