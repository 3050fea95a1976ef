namespace CniEgress.Netlink;

/// <summary>The object named by the request does not exist (ENOENT, ENODEV or ESRCH).</summary>
public sealed class NetlinkNotFoundException : NetlinkException
{
    public NetlinkNotFoundException(string operation, int errno, string? detail = null) : base(operation, errno, detail) { }

    public NetlinkNotFoundException() { }

    public NetlinkNotFoundException(string message) : base(message) { }

    public NetlinkNotFoundException(string message, Exception innerException) : base(message, innerException) { }
}
