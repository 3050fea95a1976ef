namespace CniEgress.Netlink;

/// <summary>A netlink request the kernel refused (or a socket call that failed). Carries the
/// operation that failed and the errno; the kernel's extended-ack text, when it gave one, is
/// part of the message.</summary>
public class NetlinkException : Exception
{
    public NetlinkException(string operation, int errno, string? detail = null)
        : base(FormatMessage(operation, errno, detail))
    {
        Operation = operation;
        Errno = errno;
        Detail = detail;
    }

    public NetlinkException() : this("netlink", 0) { }

    public NetlinkException(string message) : base(message) => Operation = "netlink";

    public NetlinkException(string message, Exception innerException) : base(message, innerException) => Operation = "netlink";

    /// <summary>What was attempted, e.g. "create veth veth1234 (peer eth0)".</summary>
    public string Operation { get; }

    /// <summary>The positive errno, e.g. 17 for EEXIST; 0 when not an errno failure.</summary>
    public int Errno { get; }

    /// <summary>The kernel's extended-ack message (NLMSGERR_ATTR_MSG), if any.</summary>
    public string? Detail { get; }

    /// <summary>Maps an errno to the typed exception callers catch: ENOENT/ENODEV/ESRCH mean
    /// "not found" (which one depends on the object), EEXIST "already exists".</summary>
    public static NetlinkException FromErrno(string operation, int errno, string? detail = null)
    {
        if (MeansNotFound(errno))
            return new NetlinkNotFoundException(operation, errno, detail);
        if (errno == Interop.Errno.EEXIST)
            return new NetlinkAlreadyExistsException(operation, errno, detail);
        return new NetlinkException(operation, errno, detail);
    }

    /// <summary>The errnos the kernel answers "no such object" with.</summary>
    public static bool MeansNotFound(int errno) =>
        errno == Interop.Errno.ENOENT || errno == Interop.Errno.ENODEV || errno == Interop.Errno.ESRCH;

    private static string FormatMessage(string operation, int errno, string? detail)
    {
        string text = $"{operation} failed: {Interop.Errno.Describe(errno)} (errno {errno})";
        return string.IsNullOrEmpty(detail) ? text : $"{text}: {detail}";
    }
}
