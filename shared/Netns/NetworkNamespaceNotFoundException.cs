namespace CniEgress.Netns;

/// <summary>No file at the namespace path (ENOENT): the pod's sandbox is already gone.</summary>
public sealed class NetworkNamespaceNotFoundException : NetworkNamespaceException
{
    public NetworkNamespaceNotFoundException(string path, int errno) : base(path, "open netns", errno) { }

    public NetworkNamespaceNotFoundException() { }

    public NetworkNamespaceNotFoundException(string message) : base(message) { }

    public NetworkNamespaceNotFoundException(string message, Exception innerException) : base(message, innerException) { }
}
