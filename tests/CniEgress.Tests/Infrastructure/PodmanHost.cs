using System.Globalization;
using System.Text.Json.Nodes;
using CniEgress.Processes;

namespace CniEgress.Tests.Infrastructure;

/// <summary>A private podman installation for one test: its own containers.conf (CNI backend,
/// runc, cgroupfs), storage (vfs) and registries under a scratch directory, a CNI config
/// directory holding only our conflist, and a busybox image imported from Debian's
/// busybox-static because no registry is reachable. Nothing of the machine's podman is used.</summary>
public sealed class PodmanHost : IDisposable
{
    public const string Image = "localhost/cni-egress-busybox:test";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private readonly string root = Path.Combine(Path.GetTempPath(), "cni-egress-podman-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Dictionary<string, string> environment;

    public PodmanHost(string networkName, JsonArray plugins)
    {
        Sandbox.RequirePrivateNetworkNamespace();
        NetworkName = networkName;
        foreach (var dir in new[] { "net", "graph", "run", "tmp", "rootfs/bin" }) Directory.CreateDirectory(Path.Combine(root, dir));
        File.WriteAllText(Path.Combine(root, "containers.conf"), $$"""
            [containers]
            netns = "private"
            log_driver = "k8s-file"
            # The sandbox's hard limits are lower than podman's defaults, which runc cannot raise.
            default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
            [network]
            network_backend = "cni"
            cni_plugin_dirs = ["{{Path.GetDirectoryName(CniPluginProcess.Binary)}}", "/usr/lib/cni"]
            network_config_dir = "{{root}}/net"
            default_network = "{{networkName}}"
            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            events_logfile_path = "{{root}}/events.log"
            runtime = "runc"
            tmp_dir = "{{root}}/tmp"
            static_dir = "{{root}}/graph/libpod"
            volume_path = "{{root}}/graph/volumes"
            """);
        File.WriteAllText(Path.Combine(root, "storage.conf"), $"""
            [storage]
            driver = "vfs"
            graphroot = "{root}/graph"
            runroot = "{root}/run"
            """);
        File.WriteAllText(Path.Combine(root, "registries.conf"), "unqualified-search-registries = []\n");
        var conflist = new JsonObject { ["cniVersion"] = "1.0.0", ["name"] = networkName, ["plugins"] = plugins };
        File.WriteAllText(Path.Combine(root, "net", networkName + ".conflist"), conflist.ToJsonString());
        environment = new Dictionary<string, string>
        {
            ["CONTAINERS_CONF"] = Path.Combine(root, "containers.conf"),
            ["CONTAINERS_STORAGE_CONF"] = Path.Combine(root, "storage.conf"),
            ["CONTAINERS_REGISTRIES_CONF"] = Path.Combine(root, "registries.conf"),
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        };
        ImportBusyboxImage();
    }

    public string NetworkName { get; }

    public static bool Available => File.Exists("/usr/bin/podman") && File.Exists("/usr/sbin/runc") && File.Exists("/bin/busybox");

    public string Run(params string[] arguments)
    {
        var outcome = ProcessRunner.Run("podman", arguments, [], CommandTimeout, environment);
        if (outcome.ExitCode != 0)
            throw new InvalidOperationException($"podman {string.Join(' ', arguments)} exited {outcome.ExitCode}: {outcome.Stderr}{outcome.Stdout}");
        return outcome.Stdout.Trim();
    }

    public ProcessRunner.Outcome TryRun(params string[] arguments) => ProcessRunner.Run("podman", arguments, [], CommandTimeout, environment);

    public string IpAddress(string container) =>
        Run("inspect", container, "--format", "{{(index .NetworkSettings.Networks \"" + NetworkName + "\").IPAddress}}");

    public int ContainerCount() =>
        Run("ps", "-a", "-q").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    private void ImportBusyboxImage()
    {
        string bin = Path.Combine(root, "rootfs", "bin");
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        foreach (var applet in new[] { "sh", "sleep", "ping", "ip", "nc", "cat", "echo", "wget", "httpd" })
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        string tarball = Path.Combine(root, "rootfs.tar");
        Shell.Ok("tar", "-C", Path.Combine(root, "rootfs"), "-cf", tarball, ".");
        Run("import", tarball, Image);
    }

    public void Dispose()
    {
        TryRun("rm", "-a", "-f", "-t", "0");
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { } // a busy file must not hide the test's own outcome
        catch (UnauthorizedAccessException) { }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"podman at {root}");
}
