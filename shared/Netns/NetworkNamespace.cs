using System.Runtime.ExceptionServices;
using System.Text;
using CniEgress.Interop;
using CniEgress.Netlink.Nftables;
using CniEgress.Netlink.Route;

namespace CniEgress.Netns;

/// <summary>An open network namespace (an nsfs file such as /var/run/netns/pod1 or
/// /proc/123/ns/net). Work "inside" it runs on a fresh thread that joins it with setns(2):
/// namespace membership is per OS thread, so the caller's thread (and every pool thread) never
/// changes namespace, and the entered thread dies with its work, so it cannot leak into
/// unrelated code. Sockets opened there stay bound to the namespace afterwards.</summary>
public sealed class NetworkNamespace : IDisposable
{
    private const int ThreadStackSize = 256 * 1024;
    private readonly FileDescriptorHandle _handle;

    private NetworkNamespace(string path, FileDescriptorHandle handle)
    {
        Path = path;
        _handle = handle;
    }

    public string Path { get; }

    /// <summary>The open descriptor (e.g. for IFLA_NET_NS_FD); valid while this object is.</summary>
    public int Handle => _handle.Fd;

    internal FileDescriptorHandle SafeHandle => _handle;

    /// <exception cref="NetworkNamespaceNotFoundException">nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="NotANetworkNamespaceException">it exists but is not a network namespace.</exception>
    public static NetworkNamespace Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int fd = Syscalls.OpenFile(path, Syscalls.ReadOnly, out int errno);
        if (fd < 0 && errno == Errno.ENOENT) throw new NetworkNamespaceNotFoundException(path, errno);
        if (fd < 0) throw new NetworkNamespaceException(path, "open netns", errno);
        var handle = new FileDescriptorHandle(fd);
        int type = Syscalls.GetNamespaceType(fd, out errno);
        if (type != Syscalls.CloneNewNet)
        {
            handle.Dispose();
            string reason = type < 0 ? "not a namespace file (NS_GET_NSTYPE refused it)" : $"a namespace of another kind (type 0x{type:x})";
            throw new NotANetworkNamespaceException(path, errno, reason);
        }
        return new NetworkNamespace(path, handle);
    }

    /// <summary>The namespace of the calling thread (not necessarily the process's main thread).</summary>
    public static NetworkNamespace OpenCurrent() => Open("/proc/thread-self/ns/net");

    /// <summary>Runs <paramref name="action"/> on a new thread inside this namespace, waits for
    /// it and rethrows its exception with the original stack. No async inside: an await would
    /// resume on a pool thread in the caller's namespace.</summary>
    public T Run<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            int fd = _handle.Fd;
            var thread = new Thread(() =>
            {
                try
                {
                    Enter(fd, Path);
                    result = action();
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
            }, ThreadStackSize) { IsBackground = true, Name = "netns" };
            thread.Start();
            thread.Join();
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
        failure?.Throw();
        return result;
    }

    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run<bool>(() =>
        {
            action();
            return true;
        });
    }

    /// <summary>Runs <paramref name="action"/> inside this namespace on the calling thread, which
    /// then returns to its own namespace: no thread to start, for a short-lived single-threaded
    /// process such as the CNI plugin, which would pay for the thread start on every call. The
    /// action must be short and synchronous. A thread that cannot get back ends the process at
    /// once: nothing may go on in the wrong namespace.</summary>
    public T RunOnCallingThread<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        using var home = OpenCurrent();
        Enter(_handle.Fd, Path);
        try
        {
            return action();
        }
        finally
        {
            int errno = Syscalls.SetNetworkNamespace(home.Handle);
            if (errno != 0) Environment.FailFast($"could not return from network namespace {Path} to {home.Path}: setns errno {errno}");
        }
    }

    /// <summary>An rtnetlink client talking to this namespace, usable from any thread.</summary>
    public RouteNetlinkClient OpenRouteClient() => Run(RouteNetlinkClient.Open);

    /// <summary>An nf_tables client talking to this namespace, usable from any thread.</summary>
    public NftablesNetlinkClient OpenNftablesClient() => Run(NftablesNetlinkClient.Open);

    /// <summary>Writes /proc/sys/<paramref name="relativePath"/> as this namespace sees it
    /// (per-netns sysctls such as net/ipv6/conf/eth0/accept_dad resolve against the writing
    /// thread's namespace).</summary>
    public void WriteSysctl(string relativePath, string value)
    {
        string path = SysctlPath(relativePath);
        byte[] bytes = Encoding.ASCII.GetBytes(value);
        Run(() =>
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
            RandomAccess.Write(file, bytes, 0);
        });
    }

    /// <summary>Reads /proc/sys/<paramref name="relativePath"/> as this namespace sees it, trimmed.</summary>
    public string ReadSysctl(string relativePath)
    {
        string path = SysctlPath(relativePath);
        return Run(() => File.ReadAllText(path).Trim());
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => Path;

    private static void Enter(int fd, string path)
    {
        int errno = Syscalls.SetNetworkNamespace(fd);
        if (errno != 0) throw new NetworkNamespaceException(path, "setns", errno);
    }

    private static string SysctlPath(string relativePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(relativePath);
        if (relativePath.StartsWith('/') || relativePath.Split('/').Any(part => part is "" or "." or ".."))
            throw new ArgumentException($"'{relativePath}' is not a plain path below /proc/sys", nameof(relativePath));
        return "/proc/sys/" + relativePath;
    }
}
