using System.Runtime.InteropServices;
using Tmds.Linux;

namespace CniEgress.Interop;

internal static unsafe partial class Syscalls
{
    // <linux/netlink.h> socket options (level SOL_NETLINK).
    public const int NETLINK_ADD_MEMBERSHIP = 1;
    public const int NETLINK_CAP_ACK = 10;
    public const int NETLINK_EXT_ACK = 11;
    public const int NETLINK_GET_STRICT_CHK = 12;

    /// <summary>socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol); fd or -1 with errno.</summary>
    public static int OpenNetlinkSocket(int protocol, out int errno)
    {
        int fd = LibC.socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, protocol);
        errno = fd < 0 ? Errno.Last : 0;
        return fd;
    }

    /// <summary>struct sockaddr_nl.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct NetlinkAddress
    {
        public ushort Family;
        public ushort Pad;
        public uint PortId;
        public uint Groups;
    }

    /// <summary>bind(2) to a port id the kernel picks; 0 or errno. A socket that only sends requests
    /// gets one on its first send, but one that only listens needs it: the kernel's notifications
    /// skip sockets whose port id is still 0.</summary>
    public static int BindNetlinkSocket(int fd)
    {
        var address = new NetlinkAddress { Family = (ushort)LibC.AF_NETLINK };
        return LibC.bind(fd, (sockaddr*)&address, (uint)sizeof(NetlinkAddress)) == 0 ? 0 : Errno.Last;
    }

    public static int SetNetlinkOption(int fd, int option, int value) =>
        SetOption(fd, LibC.SOL_NETLINK, option, value);

    /// <summary>Asks for a send buffer of at least <paramref name="bytes"/>: SO_SNDBUFFORCE (root
    /// may exceed wmem_max, as nft does for large batches), else SO_SNDBUF.</summary>
    public static int GrowSendBuffer(int fd, int bytes)
    {
        int errno = SetOption(fd, LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE, bytes);
        return errno == 0 ? 0 : SetOption(fd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, bytes);
    }

    /// <summary>Bounds every blocking receive so a missing kernel reply surfaces as EAGAIN
    /// instead of hanging a CNI ADD forever.</summary>
    public static int SetReceiveTimeout(int fd, TimeSpan timeout) => SetTimeout(fd, LibC.SO_RCVTIMEO, timeout);

    /// <summary>Bounds every blocking send (and, for unix sockets, connect to a full backlog).</summary>
    public static int SetSendTimeout(int fd, TimeSpan timeout) => SetTimeout(fd, LibC.SO_SNDTIMEO, timeout);

    private static int SetTimeout(int fd, int option, TimeSpan timeout)
    {
        var value = new Timeval
        {
            Seconds = (long)timeout.TotalSeconds,
            Microseconds = timeout.Milliseconds * 1000L,
        };
        return LibC.setsockopt(fd, LibC.SOL_SOCKET, option, &value, (uint)sizeof(Timeval)) == 0 ? 0 : Errno.Last;
    }

    /// <summary>send(2) to the kernel (port 0, the default destination of an unconnected
    /// netlink socket); bytes sent or -1 with errno.</summary>
    public static int Send(int fd, ReadOnlySpan<byte> data, out int errno)
    {
        fixed (byte* p = data)
        {
            long sent;
            do
            {
                sent = LibC.send(fd, p, data.Length, 0);
                errno = sent < 0 ? Errno.Last : 0;
            } while (sent < 0 && errno == Errno.EINTR);
            return (int)sent;
        }
    }

    /// <summary>recv(2) with MSG_TRUNC, so a datagram larger than the buffer reports its real
    /// length instead of being silently cut; -1 with errno on failure.</summary>
    public static int Receive(int fd, Span<byte> buffer, out int errno)
    {
        fixed (byte* p = buffer)
        {
            long received;
            do
            {
                received = LibC.recv(fd, p, buffer.Length, LibC.MSG_TRUNC);
                errno = received < 0 ? Errno.Last : 0;
            } while (received < 0 && errno == Errno.EINTR);
            return (int)received;
        }
    }

    private static int SetOption(int fd, int level, int option, int value) =>
        LibC.setsockopt(fd, level, option, &value, sizeof(int)) == 0 ? 0 : Errno.Last;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public long Seconds;
        public long Microseconds;
    }
}
