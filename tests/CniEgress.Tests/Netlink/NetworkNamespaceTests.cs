using CniEgress.Netlink.Route;
using CniEgress.Netns;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Netlink;

public class NetworkNamespaceTests
{
    [Fact]
    public void Open_of_a_missing_path_throws_NotFound()
    {
        var e = Assert.Throws<NetworkNamespaceNotFoundException>(() => NetworkNamespace.Open("/nonexistent-cni-egress/netns/pod1"));
        Assert.Equal(2, e.Errno);
        Assert.Contains("/nonexistent-cni-egress/netns/pod1", e.Message);
    }

    [Fact]
    public void Open_of_an_ordinary_file_throws_NotANetworkNamespace()
    {
        string file = Path.GetTempFileName();
        try
        {
            var e = Assert.Throws<NotANetworkNamespaceException>(() => NetworkNamespace.Open(file));
            Assert.Equal(file, e.Path);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Open_of_a_directory_throws_NotANetworkNamespace() =>
        Assert.Throws<NotANetworkNamespaceException>(() => NetworkNamespace.Open(Path.GetTempPath()));

    [Fact]
    public void Open_of_a_namespace_of_another_kind_throws_NotANetworkNamespace() =>
        Assert.Throws<NotANetworkNamespaceException>(() => NetworkNamespace.Open("/proc/self/ns/uts"));

    [Fact]
    public void Open_of_the_own_network_namespace_succeeds()
    {
        using var ns = NetworkNamespace.Open("/proc/self/ns/net");
        Assert.Equal("/proc/self/ns/net", ns.Path);
        Assert.True(ns.Handle >= 0);
    }

    [Theory]
    [InlineData("/net/ipv4/ip_forward")]
    [InlineData("net/../../etc/passwd")]
    [InlineData("net//ipv4")]
    public void WriteSysctl_refuses_paths_that_leave_proc_sys(string path)
    {
        using var ns = NetworkNamespace.Open("/proc/self/ns/net");
        Assert.Throws<ArgumentException>(() => ns.WriteSysctl(path, "1"));
    }

    [KernelFact]
    public void Run_executes_on_a_fresh_thread_inside_the_namespace_and_leaves_the_caller_alone()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("ns");
        string callerBefore = CurrentThreadNamespace();
        int callerThread = Environment.CurrentManagedThreadId;

        var (inside, thread) = pod.Namespace.Run(() => (CurrentThreadNamespace(), Environment.CurrentManagedThreadId));

        Assert.Equal(pod.Exec("readlink", "/proc/self/ns/net").Trim(), inside);
        Assert.NotEqual(callerBefore, inside);
        Assert.NotEqual(callerThread, thread);
        Assert.Equal(callerBefore, CurrentThreadNamespace());
    }

    [KernelFact]
    public void Run_propagates_the_actions_exception()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("ns");

        var e = Assert.Throws<InvalidOperationException>(() => pod.Namespace.Run(() => throw new InvalidOperationException("boom inside")));

        Assert.Equal("boom inside", e.Message);
        Assert.Throws<FormatException>(() => pod.Namespace.Run(new Action(() => throw new FormatException())));
    }

    [KernelFact]
    public void RunOnCallingThread_enters_on_this_thread_and_comes_back_also_after_an_exception()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("ns");
        string callerBefore = CurrentThreadNamespace();
        int callerThread = Environment.CurrentManagedThreadId;

        var (inside, thread) = pod.Namespace.RunOnCallingThread(() => (CurrentThreadNamespace(), Environment.CurrentManagedThreadId));

        Assert.Equal(pod.Exec("readlink", "/proc/self/ns/net").Trim(), inside);
        Assert.Equal(callerThread, thread);
        Assert.Equal(callerBefore, CurrentThreadNamespace());
        Assert.Throws<FormatException>(() => pod.Namespace.RunOnCallingThread<bool>(() => throw new FormatException()));
        Assert.Equal(callerBefore, CurrentThreadNamespace());
        // A socket opened inside stays bound to the namespace.
        using var client = pod.Namespace.RunOnCallingThread(RouteNetlinkClient.Open);
        Assert.Equal(["lo"], client.ListLinks().Select(link => link.Name).ToList());
    }

    [KernelFact]
    public void WriteSysctl_changes_the_value_in_that_namespace_only()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("ns");
        string sandboxBefore = File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim();
        string wanted = sandboxBefore == "1" ? "0" : "1";

        pod.Namespace.WriteSysctl("net/ipv4/ip_forward", wanted);

        Assert.Equal(wanted, pod.Exec("cat", "/proc/sys/net/ipv4/ip_forward").Trim());
        Assert.Equal(wanted, pod.Namespace.ReadSysctl("net/ipv4/ip_forward"));
        Assert.Equal(sandboxBefore, File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim());
    }

    [KernelFact]
    public void OpenRouteClient_lists_the_links_of_that_namespace_from_any_thread()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("ns");
        Command.Run("ip", "-n", pod.Name, "link", "add", "br-test", "type", "bridge");
        using var client = pod.Namespace.OpenRouteClient();

        var names = client.ListLinks().Select(link => link.Name).Order().ToList();

        var expected = Command.Json("ip", "-n", pod.Name, "-j", "link", "show").AsArray()
            .Select(link => (string)link!["ifname"]!).Order().ToList();
        Assert.Equal(expected, names);
        Assert.Equal(["br-test", "lo"], names);
        using var sandbox = RouteNetlinkClient.Open();
        Assert.Null(sandbox.FindLink("br-test"));
    }

    private static string CurrentThreadNamespace() => new FileInfo("/proc/thread-self/ns/net").LinkTarget!;
}
