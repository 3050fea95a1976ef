using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.Processes;

namespace CniEgress.Benchmarks;

public static class PluginLatencyBenchmark
{
    private sealed record Scenario(string Label, string Type, string IpamType, bool DualStack, bool WithAgent = false);

    private static readonly string Repo = Repository.Root;
    private const string WithAgentLabel = "cni-egress, built-in IPAM, IPv4, with egress-agent (policyAgent: required; the agent deletes the veth for DEL)";

    /// <summary>The kernel dismantles a deleted netns in the background, RCU barriers included, and
    /// a veth deletion meanwhile waits behind them: every run (and the kernel's own deletion below)
    /// starts once the last run's netns is gone, so a DEL never pays for its predecessor's.</summary>
    internal static readonly TimeSpan NetnsTeardown = TimeSpan.FromMilliseconds(300);
    private static readonly string PluginDirs = Path.Combine(Repo, "dist") + ":/usr/lib/cni";

    /// <param name="only">When set, only the scenarios whose label contains it run (for iterating on one figure).</param>
    public static int Run(int runs, string? only = null)
    {
        var scenarios = new[]
        {
            new Scenario("cni-egress, built-in IPAM, IPv4", "cni-egress", "cni-egress", false),
            new Scenario("cni-egress, built-in IPAM, dual-stack", "cni-egress", "cni-egress", true),
            new Scenario(WithAgentLabel, "cni-egress", "cni-egress", false, WithAgent: true),
            new Scenario("cni-egress + host-local, IPv4", "cni-egress", "host-local", false),
            new Scenario("cni-egress + host-local, dual-stack", "cni-egress", "host-local", true),
            new Scenario("ptp + host-local, IPv4 (reference)", "ptp", "host-local", false),
            new Scenario("ptp + host-local, dual-stack (reference)", "ptp", "host-local", true),
        };
        // A node has an uplink with the default routes; an empty sandbox would time paths no node takes.
        Ok("bash", Path.Combine(Repo, "scripts", "node-uplink.sh"));
        Console.WriteLine($"# CNI ADD/DEL latency, {runs} runs each, fresh netns per run, {Environment.ProcessorCount} cores, the node's uplink at MTU 1400");
        Console.WriteLine();
        Console.WriteLine("| scenario | ADD p10 | ADD median | ADD p90 | DEL p10 | DEL median | DEL p90 |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var medians = new Dictionary<string, (double Add, double Del)>();
        int index = 0;
        foreach (var scenario in scenarios.Where(s => only == null || s.Label.Contains(only, StringComparison.Ordinal)))
        {
            var (add, del) = Measure(scenario, runs, index++);
            medians[scenario.Label] = (Percentile(add, 50), Percentile(del, 50));
            Console.WriteLine($"| {scenario.Label} | {F(Percentile(add, 10))} | {F(Percentile(add, 50))} | {F(Percentile(add, 90))} | {F(Percentile(del, 10))} | {F(Percentile(del, 50))} | {F(Percentile(del, 90))} |");
        }
        var kernelDelete = KernelVethDelete.Measure(runs);
        Console.WriteLine($"| kernel veth deletion alone (netlink, in process) | {F(Percentile(kernelDelete, 10))} | | | | {F(Percentile(kernelDelete, 50))} | {F(Percentile(kernelDelete, 90))} |");
        var untilRemoved = KernelVethDelete.MeasureUntilRemoved(runs);
        Console.WriteLine($"| kernel veth deletion until the kernel announces the removal (how the agent deletes for DEL) | {F(Percentile(untilRemoved, 10))} | | | | {F(Percentile(untilRemoved, 50))} | {F(Percentile(untilRemoved, 90))} |");
        Console.WriteLine();
        if (only != null) return 0;
        double ptp = medians["ptp + host-local, IPv4 (reference)"].Add;
        double ours = medians["cni-egress, built-in IPAM, IPv4"].Add;
        Console.WriteLine($"ADD median ratio cni-egress(built-in)/ptp+host-local: {ours / ptp:0.000} (target <= 0.25)");
        Console.WriteLine($"dual-stack ADD median: {F(medians["cni-egress, built-in IPAM, dual-stack"].Add)} (target <= 4 ms)");
        foreach (string line in PeakRss) Console.WriteLine($"peak RSS, {line} (target <= 20 MB)");
        Console.WriteLine($"DEL median minus kernel veth deletion: {F(medians["cni-egress, built-in IPAM, IPv4"].Del - Percentile(kernelDelete, 50))} (target <= 2 ms)");
        Console.WriteLine($"DEL median with the agent deleting the veth, minus kernel veth deletion: {F(medians[WithAgentLabel].Del - Percentile(kernelDelete, 50))} (target <= 2 ms)");
        Console.WriteLine();
        Console.WriteLine("Process start floor (median of spawn + exec + wait, no kernel work), by launcher:");
        var floors = new[] { ("/bin/true", "/bin/true"), ("ptp VERSION", "/usr/lib/cni/ptp"), ("cni-egress VERSION", Path.Combine(Repo, "dist", "cni-egress")) };
        PrintFloors(floors, runs);
        Console.WriteLine(GoExecFloor(floors.Select(f => f.Item2), runs));
        Console.WriteLine();
        Console.WriteLine($"The same with {BusyNodeMounts} more mounts (a busy node: every pod adds its netns, shm, rootfs and volume mounts; the plugin skips the .NET runtime's two scans of /proc/self/mountinfo):");
        using (BusyNode()) PrintFloors(floors, runs);
        return 0;
    }

    private const int BusyNodeMounts = 500;

    /// <summary>Mounts <see cref="BusyNodeMounts"/> small tmpfs in the sandbox's private mount
    /// namespace, and unmounts them when disposed.</summary>
    private static Mounts BusyNode()
    {
        const string root = "/run/cni-egress-bench/mounts";
        Ok("bash", "-c", $"for i in $(seq 1 {BusyNodeMounts}); do mkdir -p {root}/$i && mount -t tmpfs -o size=4k busy {root}/$i || exit 1; done");
        return new Mounts(root);
    }

    private sealed class Mounts(string root) : IDisposable
    {
        public void Dispose() =>
            Ok("bash", "-c", $"for i in $(seq 1 {BusyNodeMounts}); do umount {root}/$i 2>/dev/null; done; rm -rf {root}");
    }

    private static (List<double> Add, List<double> Del) Measure(Scenario scenario, int runs, int index)
    {
        string name = $"bench{index}";
        string stateDir = $"/run/cni-egress-bench/{name}";
        var ranges = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = $"10.{200 + index}.0.0/16" }));
        if (scenario.DualStack) ranges.Add(new JsonArray(new JsonObject { ["subnet"] = $"fd00:{200 + index}::/64" }));
        var ipam = new JsonObject { ["type"] = scenario.IpamType, ["ranges"] = ranges };
        if (scenario.IpamType == "host-local") ipam["dataDir"] = stateDir + "/host-local";
        var config = new JsonObject { ["cniVersion"] = "1.0.0", ["name"] = name, ["type"] = scenario.Type, ["ipam"] = ipam };
        if (scenario.Type == "cni-egress") config["policyAgent"] = scenario.WithAgent ? "required" : "off";
        if (scenario.Type == "cni-egress") config["stateDir"] = stateDir;
        byte[] stdin = Encoding.UTF8.GetBytes(config.ToJsonString());
        using var agent = scenario.WithAgent ? StartAgent(stateDir) : null;

        if (scenario.Type == "cni-egress" && !scenario.WithAgent) MeasureRss(scenario, stdin, name);
        var add = new List<double>();
        var del = new List<double>();
        for (int i = -2; i < runs; i++) // two warm-up runs fill caches
        {
            string pod = $"{name}p{i + 2}";
            Ok("ip", "netns", "add", pod);
            string id = $"{name}c{i + 2}";
            add.Add(Time(() => Invoke(scenario.Type, "ADD", stdin, id, "/run/netns/" + pod)));
            del.Add(Time(() => Invoke(scenario.Type, "DEL", stdin, id, "/run/netns/" + pod)));
            Ok("ip", "netns", "del", pod);
            Thread.Sleep(NetnsTeardown);
            if (i < 0) { add.RemoveAt(add.Count - 1); del.RemoveAt(del.Count - 1); }
        }
        return (add, del);
    }

    /// <summary>dist/egress-agent on an empty manifest folder, ready once its socket exists.</summary>
    private static AgentProcess StartAgent(string stateDir)
    {
        string manifests = Path.Combine(stateDir, "manifests");
        Directory.CreateDirectory(manifests);
        var info = new ProcessStartInfo(Path.Combine(Repo, "dist", "egress-agent")) { UseShellExecute = false, RedirectStandardError = true };
        foreach (string a in new[] { "run", "--manifests", manifests, "--node-name", "bench", "--state-dir", stateDir, "--status-address", "" }) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        for (int i = 0; i < 300 && !File.Exists(Path.Combine(stateDir, "agent.sock")); i++) Thread.Sleep(50);
        return new AgentProcess(process);
    }

    private sealed class AgentProcess(Process process) : IDisposable
    {
        public void Dispose()
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
            process.Dispose();
        }
    }

    private static void MeasureRss(Scenario scenario, byte[] stdin, string name)
    {
        string pod = name + "rss";
        Ok("ip", "netns", "add", pod);
        var env = Env("ADD", name + "rss", "/run/netns/" + pod);
        double add = ChildPeakRss.Megabytes(Path.Combine(Repo, "dist", "cni-egress"), stdin, env);
        env["CNI_COMMAND"] = "DEL";
        double del = ChildPeakRss.Megabytes(Path.Combine(Repo, "dist", "cni-egress"), stdin, env);
        Ok("ip", "netns", "del", pod);
        PeakRss.Add($"{scenario.Label}: ADD {add:0.0} MB, DEL {del:0.0} MB");
    }

    private static readonly List<string> PeakRss = [];

    private static Dictionary<string, string> Env(string command, string id, string netns) => new()
    {
        ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = id, ["CNI_NETNS"] = netns,
        ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = PluginDirs,
    };

    private static void Invoke(string type, string command, byte[] stdin, string id, string netns)
    {
        var env = Env(command, id, netns);
        string binary = PluginDirs.Split(':').Select(d => Path.Combine(d, type)).First(File.Exists);
        var outcome = ProcessRunner.Run(binary, [], stdin, TimeSpan.FromSeconds(30), env);
        if (outcome.ExitCode != 0) throw new InvalidOperationException($"{type} {command} failed: {outcome.Stdout}{outcome.Stderr}");
    }

    private static void PrintFloors((string Label, string Binary)[] floors, int runs)
    {
        foreach (var (label, binary) in floors)
            Console.WriteLine($"- {label}: {F(Percentile(StartFloor(binary, runs, dotnetProcess: false), 50))} spawned as libcni does (the table above), "
                + $"{F(Percentile(StartFloor(binary, runs, dotnetProcess: true), 50))} through .NET's Process (the harness before 2026-12-02)");
    }

    private static List<double> StartFloor(string binary, int runs, bool dotnetProcess)
    {
        byte[] stdin = Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"floor","type":"x"}""");
        var env = Env("VERSION", "", "");
        var times = new List<double>();
        for (int i = -2; i < runs; i++)
        {
            double ms = Time(() =>
            {
                if (dotnetProcess) RunThroughDotnetProcess(binary, stdin, env);
                else ProcessRunner.Run(binary, [], stdin, TimeSpan.FromSeconds(10), env);
            });
            if (i >= 0) times.Add(ms);
        }
        return times;
    }

    private static readonly string[] GoToolchains = ["/usr/bin/go", "/usr/local/go/bin/go"];

    /// <summary>How ProcessRunner ran children before 2026-12-02, the harness of the earlier figures.</summary>
    private static void RunThroughDotnetProcess(string binary, byte[] stdin, Dictionary<string, string> env)
    {
        var info = new ProcessStartInfo(binary) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in env) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var input = process.StandardInput.BaseStream;
            input.Write(stdin);
        }
        catch (IOException)
        {
            // /bin/true reads no stdin
        }
        process.WaitForExit();
        _ = stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult();
    }

    /// <summary>The same floors through Go's os/exec as libcni calls it (libcni-exec-floor/main.go),
    /// when a Go toolchain is installed: the check that ProcessRunner's spawn costs what the real caller's does.</summary>
    private static string GoExecFloor(IEnumerable<string> binaries, int runs)
    {
        string source = Path.Combine(Repo, "tests", "CniEgress.Benchmarks", "libcni-exec-floor", "main.go");
        string? go = GoToolchains.FirstOrDefault(File.Exists);
        if (go == null) return "- Go's os/exec: no Go toolchain here (apt-get install golang-go to print it)";
        string built = Path.Combine(Path.GetTempPath(), "libcni-exec-floor");
        var build = ProcessRunner.Run(go, ["build", "-o", built, source], [], TimeSpan.FromSeconds(120),
            new Dictionary<string, string> { ["GO111MODULE"] = "off", ["GOCACHE"] = Path.Combine(Path.GetTempPath(), "libcni-exec-floor-cache") });
        if (build.ExitCode != 0) return "- Go's os/exec: build failed: " + build.Stderr.Trim();
        var outcome = ProcessRunner.Run(built, [runs.ToString(CultureInfo.InvariantCulture), .. binaries], [], TimeSpan.FromSeconds(300), Env("VERSION", "", ""));
        return outcome.ExitCode == 0 ? outcome.Stdout.TrimEnd() : "- Go's os/exec: " + outcome.Stderr.Trim();
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    internal static void Ok(string exe, params string[] args)
    {
        var outcome = ProcessRunner.Run(exe, args, [], TimeSpan.FromSeconds(20));
        if (outcome.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)}: {outcome.Stderr}");
    }

    internal static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        double rank = percentile / 100.0 * (sorted.Count - 1);
        int low = (int)Math.Floor(rank);
        int high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    private static string F(double ms) => ms.ToString("0.00", CultureInfo.InvariantCulture) + " ms";
}
