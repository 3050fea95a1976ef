using CniEgress.Netns;
using CniEgress.Tests.Infrastructure;

namespace CniEgress.Tests.Netlink;

/// <summary>A pod-like namespace made with `ip netns add` inside the sandbox, with a unique
/// name so test classes can run in parallel; deleted (with all its links) on dispose.</summary>
internal sealed class TestNamespace : IDisposable
{
    private TestNamespace(string name)
    {
        Name = name;
        Namespace = NetworkNamespace.Open(PathOf(name));
    }

    public string Name { get; }

    public NetworkNamespace Namespace { get; }

    public string Path => PathOf(Name);

    public static TestNamespace Create(string prefix)
    {
        Sandbox.RequirePrivateNetworkNamespace();
        string name = $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
        Command.Run("ip", "netns", "add", name);
        Command.Run("ip", "-n", name, "link", "set", "lo", "up");
        return new TestNamespace(name);
    }

    /// <summary>A name for a host-side link that no parallel test will pick.</summary>
    public static string UniqueLinkName(string prefix) => $"{prefix}{Guid.NewGuid().ToString("N")[..(14 - prefix.Length)]}";

    public string Exec(params string[] command) => Command.Run("ip", ["netns", "exec", Name, .. command]);

    public void Dispose()
    {
        Namespace.Dispose();
        Command.Execute("ip", "netns", "del", Name);
    }

    private static string PathOf(string name) => $"/run/netns/{name}";
}
