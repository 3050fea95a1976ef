using System.Text;
using Tmds.Linux;

namespace CniEgress.Interop;

/// <summary>One request and its one-line reply over a unix stream socket, in raw syscalls. The CNI
/// plugin talks to the agent once per ADD, and loading System.Net.Sockets would cost a native-AOT
/// process more than the exchange itself. The request is sent at once and the reply read later,
/// so the caller can work while the other side answers.</summary>
public sealed unsafe class UnixSocketExchange : IDisposable
{
    private const int MaxReply = 4096;
    private readonly FileDescriptorHandle handle;

    private UnixSocketExchange(FileDescriptorHandle handle) => this.handle = handle;

    /// <summary>Connects and sends <paramref name="request"/>; each blocking call, the reply's
    /// included, is bounded by <paramref name="timeout"/>.</summary>
    /// <exception cref="UnixSocketException">The socket could not be reached or talked to.</exception>
    public static UnixSocketExchange Send(string path, ReadOnlySpan<byte> request, TimeSpan timeout)
    {
        int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new UnixSocketException("socket", Errno.Last);
        var handle = new FileDescriptorHandle(fd);
        try
        {
            int errno = Syscalls.SetReceiveTimeout(fd, timeout);
            if (errno != 0) throw new UnixSocketException("set receive timeout", errno);
            errno = Syscalls.SetSendTimeout(fd, timeout);
            if (errno != 0) throw new UnixSocketException("set send timeout", errno);
            Connect(fd, path);
            fixed (byte* data = request)
            {
                for (int sent = 0; sent < request.Length;)
                {
                    long n = LibC.send(fd, data + sent, request.Length - sent, LibC.MSG_NOSIGNAL);
                    if (n < 0 && Errno.Last == Errno.EINTR) continue;
                    if (n < 0) throw new UnixSocketException("send", Errno.Last);
                    sent += (int)n;
                }
            }
            return new UnixSocketExchange(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The reply's bytes up to the end of the stream or the read that brought its first
    /// newline (the line and any whitespace after it).</summary>
    /// <exception cref="UnixSocketException">The reply could not be read.</exception>
    public ReadOnlySpan<byte> ReadReply()
    {
        int fd = handle.Fd;
        var reply = new byte[MaxReply];
        int length = 0;
        fixed (byte* buffer = reply)
        {
            while (length < MaxReply && Array.IndexOf(reply, (byte)'\n', 0, length) < 0)
            {
                long n = LibC.recv(fd, buffer + length, MaxReply - length, 0);
                if (n < 0 && Errno.Last == Errno.EINTR) continue;
                if (n < 0) throw new UnixSocketException("receive", Errno.Last);
                if (n == 0) break;
                length += (int)n;
            }
        }
        return reply.AsSpan(0, length);
    }

    public void Dispose() => handle.Dispose();

    private static void Connect(int fd, string path)
    {
        var address = default(sockaddr_un);
        address.sun_family = LibC.AF_UNIX;
        byte[] name = Encoding.UTF8.GetBytes(path);
        if (name.Length >= sizeof(sockaddr_un) - sizeof(ushort)) throw new UnixSocketException($"socket path too long ({path})", Errno.ENAMETOOLONG);
        name.CopyTo(new Span<byte>(address.sun_path, name.Length));
        while (LibC.connect(fd, (sockaddr*)&address, (uint)sizeof(sockaddr_un)) < 0)
        {
            int errno = Errno.Last;
            if (errno != Errno.EINTR) throw new UnixSocketException("connect", errno);
        }
    }
}

/// <summary>A failed step of <see cref="UnixSocketExchange"/>, with the errno's name.</summary>
public sealed class UnixSocketException(string step, int errno) : Exception($"{step}: {Interop.Errno.Describe(errno)}")
{
    public int ErrorNumber { get; } = errno;
}
