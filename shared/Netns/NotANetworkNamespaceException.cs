namespace CniEgress.Netns;

/// <summary>The path exists but is not a network namespace: an ordinary file (e.g. a netns
/// bind-mount target left behind after its namespace was unmounted), a directory, or a
/// namespace of another kind.</summary>
public sealed class NotANetworkNamespaceException : NetworkNamespaceException
{
    public NotANetworkNamespaceException(string path, int errno, string reason) : base(path, "open netns", errno, reason) { }

    public NotANetworkNamespaceException() { }

    public NotANetworkNamespaceException(string message) : base(message) { }

    public NotANetworkNamespaceException(string message, Exception innerException) : base(message, innerException) { }
}
