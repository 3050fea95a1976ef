using Tmds.Linux;

namespace CniEgress.Interop;

/// <summary>stdin and stdout of a short-lived process, by read(2) and write(2) on fds 0 and 1.
/// Console's streams set up terminal and signal handling (a thread and a pipe) first; a
/// FileStream on a regular file writes with pwrite at its own offset and leaves the shared file
/// offset behind, so whatever the caller appends next would overwrite our output.</summary>
public static unsafe class StandardStreams
{
    private const int Stdin = 0, Stdout = 1;

    /// <exception cref="IOException">stdin cannot be read.</exception>
    /// <exception cref="InvalidDataException">stdin holds more than <paramref name="maxBytes"/> bytes.</exception>
    public static byte[] ReadAllInput(int maxBytes)
    {
        // Uninitialised: zeroing 16 KB would touch four fresh pages, a page fault each, for a config of a few hundred bytes.
        var buffer = GC.AllocateUninitializedArray<byte>(Math.Min(16 * 1024, maxBytes + 1));
        int length = 0;
        while (true)
        {
            if (length > maxBytes) throw new InvalidDataException($"stdin holds more than {maxBytes} bytes");
            if (length == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, maxBytes + 1L));
            long n;
            fixed (byte* p = buffer) n = LibC.read(Stdin, p + length, buffer.Length - length);
            if (n == 0) return buffer[..length];
            if (n > 0) length += (int)n;
            else if (Errno.Last != Errno.EINTR) throw Failed("read stdin", Errno.Last);
        }
    }

    /// <exception cref="IOException">stdout is closed or cannot take the bytes.</exception>
    public static void WriteOutput(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            int written = 0;
            while (written < bytes.Length)
            {
                long n = LibC.write(Stdout, p + written, bytes.Length - written);
                if (n > 0) written += (int)n;
                else if (n == 0) throw new IOException("write stdout: no progress");
                else if (Errno.Last != Errno.EINTR) throw Failed("write stdout", Errno.Last);
            }
        }
    }

    private static IOException Failed(string operation, int errno) => new($"{operation}: {Errno.Describe(errno)} (errno {errno})");
}
