namespace CniEgress.Netlink;

/// <summary>The request would create an object that already exists (EEXIST).</summary>
public sealed class NetlinkAlreadyExistsException : NetlinkException
{
    public NetlinkAlreadyExistsException(string operation, int errno, string? detail = null) : base(operation, errno, detail) { }

    public NetlinkAlreadyExistsException() { }

    public NetlinkAlreadyExistsException(string message) : base(message) { }

    public NetlinkAlreadyExistsException(string message, Exception innerException) : base(message, innerException) { }
}
