using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace CniEgress.Interop;

internal static unsafe partial class Syscalls
{
    // <sys/file.h>
    public const int LOCK_EX = 2, LOCK_NB = 4;

    /// <summary>open(path, flags | O_CLOEXEC, 0644); the fd or -1 with <paramref name="errno"/>.</summary>
    public static int OpenFile(string path, int flags, out int errno)
    {
        int size = NullTerminatedSize(path);
        Span<byte> bytes = size <= StackPathLimit ? stackalloc byte[size] : new byte[size];
        fixed (byte* p = NullTerminated(path, bytes))
        {
            int fd = LibC.open(p, flags | LibC.O_CLOEXEC, 0x1a4);
            errno = fd < 0 ? Errno.Last : 0;
            return fd;
        }
    }

    /// <summary>lstat(2): inode, modification time in nanoseconds and size; false with
    /// <paramref name="errno"/> when the path cannot be examined (ENOENT: it is gone).</summary>
    public static bool TryLinkStatus(string path, out ulong inode, out long modifiedNanoseconds, out long size, out int errno)
    {
        int bufferSize = NullTerminatedSize(path);
        Span<byte> bytes = bufferSize <= StackPathLimit ? stackalloc byte[bufferSize] : new byte[bufferSize];
        stat status;
        fixed (byte* p = NullTerminated(path, bytes))
        {
            if (LibC.lstat(p, &status) != 0)
            {
                errno = Errno.Last;
                (inode, modifiedNanoseconds, size) = (0, 0, 0);
                return false;
            }
        }
        errno = 0;
        inode = status.st_ino;
        modifiedNanoseconds = (long)status.st_mtim.tv_sec * 1_000_000_000 + (long)status.st_mtim.tv_nsec;
        size = status.st_size;
        return true;
    }

    public static int ReadOnly => LibC.O_RDONLY;
    public static int CreateOrTruncateForWriting => LibC.O_WRONLY | LibC.O_CREAT | LibC.O_TRUNC;
    public static int CreateForLocking => LibC.O_RDWR | LibC.O_CREAT;

    /// <summary>Reads to end of file; the byte count or -1 with <paramref name="errno"/>.</summary>
    public static int ReadToEnd(int fd, ref byte[] buffer, out int errno)
    {
        int length = 0;
        while (true)
        {
            if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            long n;
            fixed (byte* p = buffer) n = LibC.read(fd, p + length, buffer.Length - length);
            if (n < 0 && Errno.Last == Errno.EINTR) continue;
            if (n < 0)
            {
                errno = Errno.Last;
                return -1;
            }
            if (n == 0)
            {
                errno = 0;
                return length;
            }
            length += (int)n;
        }
    }

    /// <summary>Writes all of <paramref name="data"/>; 0 or errno.</summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            for (int written = 0; written < data.Length;)
            {
                long n = LibC.write(fd, p + written, data.Length - written);
                if (n < 0 && Errno.Last == Errno.EINTR) continue;
                if (n < 0) return Errno.Last;
                written += (int)n;
            }
        }
        return 0;
    }

    /// <summary>flock(2); 0 or errno (EWOULDBLOCK when LOCK_NB and someone else holds it).</summary>
    public static int Flock(int fd, int operation) => flock(fd, operation) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>rename(2); 0 or errno.</summary>
    public static int Rename(string from, string to)
    {
        int fromSize = NullTerminatedSize(from), toSize = NullTerminatedSize(to);
        Span<byte> fromBytes = fromSize <= StackPathLimit ? stackalloc byte[fromSize] : new byte[fromSize];
        Span<byte> toBytes = toSize <= StackPathLimit ? stackalloc byte[toSize] : new byte[toSize];
        fixed (byte* f = NullTerminated(from, fromBytes))
        fixed (byte* t = NullTerminated(to, toBytes))
            return rename(f, t) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static int WouldBlock => LibC.EWOULDBLOCK;

    /// <summary>Longer paths go to the heap (the kernel answers ENAMETOOLONG past PATH_MAX).</summary>
    private const int StackPathLimit = 1024;

    private static int NullTerminatedSize(string path) => Encoding.UTF8.GetByteCount(path) + 1;

    private static Span<byte> NullTerminated(string path, Span<byte> buffer)
    {
        int length = Encoding.UTF8.GetBytes(path, buffer);
        buffer[length] = 0;
        return buffer;
    }

    // Not in Tmds.LibC; bound at link time like its calls (DirectPInvoke of libc.so.6 in the plugin).
    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int rename(byte* oldPath, byte* newPath);
}
