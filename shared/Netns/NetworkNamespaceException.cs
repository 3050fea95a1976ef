
namespace CniEgress.Netns;

/// <summary>Opening or entering a network namespace failed; carries the path, the operation and the errno.</summary>
public class NetworkNamespaceException : Exception
{
    public NetworkNamespaceException(string path, string operation, int errno, string? reason = null)
        : base($"{operation} {path}: {reason ?? Interop.Errno.Describe(errno)}{(errno != 0 ? $" (errno {errno})" : "")}")
    {
        Path = path;
        Operation = operation;
        Errno = errno;
    }

    public NetworkNamespaceException() : this("", "netns", 0) { }

    public NetworkNamespaceException(string message) : base(message)
    {
        Path = "";
        Operation = "netns";
    }

    public NetworkNamespaceException(string message, Exception innerException) : base(message, innerException)
    {
        Path = "";
        Operation = "netns";
    }

    public string Path { get; }

    /// <summary>e.g. "open netns", "setns".</summary>
    public string Operation { get; }

    /// <summary>The positive errno; 0 when the failure was not a failed call.</summary>
    public int Errno { get; }
}
