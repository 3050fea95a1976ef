using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.Processes;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using k8s.Models;

namespace CniEgress.Tests.Infrastructure;

/// <summary>A node of its own inside the sandbox: a network namespace where the real plugin
/// wires pods (exec'd there with `ip netns exec`) and where our nftables table lives, plus an
/// "external" host on TEST-NET (203.0.113.10 and .11, 2001:db8:e::10) routed from the node.
/// Policy tests run in parallel with every other kernel test, and our table's fail-closed rule
/// for unknown pod veths must not see their pods.</summary>
public sealed class PolicyNode : IDisposable
{
    public const string ExternalV4 = "203.0.113.10";
    public const string OtherExternalV4 = "203.0.113.11";
    public const string ExternalV6 = "2001:db8:e::10";

    private static int counter;
    private readonly List<PodNamespace> namespaces = [];
    private readonly List<Process> servers = [];
    private readonly string stateDir;
    private readonly bool ipMasq;
    private readonly string subnet4;
    private readonly string subnet6;
    private readonly List<(string Name, Dictionary<string, string> Labels)> kubeNamespaces = [];
    private readonly List<PodState> pods = [];
    private readonly List<LocalPod> localPods = [];

    /// <param name="ipMasq">Masquerade pod traffic that leaves the node's pod subnets (the plugin's ipMasq).</param>
    public PolicyNode(bool ipMasq = false)
    {
        this.ipMasq = ipMasq;
        Sandbox.RequirePrivateNetworkNamespace();
        int n = Interlocked.Increment(ref counter) + Environment.ProcessId % 40 * 10;
        Node = new PodNamespace($"node{n}");
        External = new PodNamespace($"ext{n}");
        subnet4 = $"10.{150 + n / 200}.{n % 200}.0/24";
        subnet6 = $"fd00:150:{n:x}::/120";
        stateDir = $"/run/cni-egress-test/policy-node{n}";
        // No DAD on the uplink's link-local addresses: neighbour discovery works at once.
        foreach (var side in new[] { Node, External })
            Shell.Ok("ip", "netns", "exec", side.Name, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0");
        Shell.Ok("ip", "-n", Node.Name, "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", External.Name);
        Shell.Ok("ip", "-n", Node.Name, "addr", "add", "203.0.113.1/24", "dev", "uplink");
        Shell.Ok("ip", "-n", Node.Name, "addr", "add", "2001:db8:e::1/64", "dev", "uplink", "nodad");
        Shell.Ok("ip", "-n", Node.Name, "link", "set", "uplink", "up");
        foreach (string a in new[] { ExternalV4 + "/24", OtherExternalV4 + "/24" })
            Shell.Ok("ip", "-n", External.Name, "addr", "add", a, "dev", "eth0");
        Shell.Ok("ip", "-n", External.Name, "addr", "add", ExternalV6 + "/64", "dev", "eth0", "nodad");
        Shell.Ok("ip", "-n", External.Name, "link", "set", "eth0", "up");
        Shell.Ok("ip", "-n", External.Name, "route", "add", "default", "via", "203.0.113.1");
        Shell.Ok("ip", "-n", External.Name, "-6", "route", "add", "default", "via", "2001:db8:e::1");
        // Resolve the uplink's neighbours both ways before any test traffic.
        External.Ping("2001:db8:e::1");
        External.Ping("203.0.113.1");
    }

    public PodNamespace Node { get; }

    /// <summary>The plugin's stateDir for this node (its attachment records).</summary>
    public string StateDir => stateDir;
    public PodNamespace External { get; }

    public INftExecutor Nft => new NftCommand("ip", "netns", "exec", Node.Name, "nft");

    /// <summary>An nfnetlink client whose socket lives in the node namespace.</summary>
    public CniEgress.Netlink.Nftables.NftablesNetlinkClient OpenNftablesClient()
    {
        using var ns = CniEgress.Netns.NetworkNamespace.Open(Node.Path);
        return ns.OpenNftablesClient();
    }

    /// <summary>Our table as nft lists it, without counter values.</summary>
    public string ListTable() => System.Text.RegularExpressions.Regex.Replace(
        Shell.Ok("ip", "netns", "exec", Node.Name, "nft", "list", "table", "inet", NftRuleset.Table), @"packets \d+ bytes \d+", "");

    public void Namespace(string name, Dictionary<string, string>? labels = null) => kubeNamespaces.Add((name, labels ?? []));

    /// <summary>New labels for a pod, as the API server would report them.</summary>
    public void Relabel(string ns, string name, Dictionary<string, string> labels)
    {
        int index = pods.FindIndex(p => p.Namespace == ns && p.Name == name);
        pods[index] = pods[index] with { Labels = labels };
    }

    /// <summary>Wires a pod with the real plugin (ADD in the node namespace) and records it as the
    /// API server and the attachment store would show it.</summary>
    public Pod AddPod(string ns, string name, Dictionary<string, string>? labels = null, IReadOnlyList<ContainerPortState>? ports = null, bool known = true, string policyAgent = "off")
    {
        var pod = new PodNamespace();
        namespaces.Add(pod);
        var outcome = RunPlugin("ADD", pod, ns, name, policyAgent);
        if (outcome.ExitCode != 0) throw new InvalidOperationException($"ADD failed: {outcome.Stdout}{outcome.Stderr}");
        var result = JsonNode.Parse(outcome.Stdout)!;
        var addresses = result["ips"]!.AsArray().Select(ip => IPAddress.Parse(((string)ip!["address"]!).Split('/')[0])).ToList();
        string hostInterface = (string)result["interfaces"]![0]!["name"]!;
        if (known) pods.Add(new PodState(ns, name, labels ?? [], addresses, ports ?? []));
        localPods.Add(new LocalPod(ns, name, hostInterface, addresses));
        return new Pod(pod, hostInterface, addresses);
    }

    /// <summary>The plugin's config for this node (see <see cref="RunPlugin"/>).</summary>
    public string PluginConfig(string policyAgent)
    {
        var config = new JsonObject
        {
            ["cniVersion"] = "1.1.0",
            ["name"] = "policy",
            ["type"] = "cni-egress",
            ["mtu"] = 1400,
            ["stateDir"] = stateDir,
            ["policyAgent"] = policyAgent,
            ["ipam"] = new JsonObject
            {
                ["type"] = "cni-egress",
                ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = subnet4 }), new JsonArray(new JsonObject { ["subnet"] = subnet6 })),
            },
        };
        if (ipMasq)
        {
            config["ipMasq"] = true;
            config["clusterCIDRs"] = new JsonArray(subnet4, subnet6);
        }
        return config.ToJsonString();
    }

    /// <summary>Execs the plugin in the node namespace as a runtime would, for a pod namespace.</summary>
    public ProcessRunner.Outcome RunPlugin(string command, PodNamespace pod, string ns, string name, string policyAgent = "off")
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c" + pod.Name, ["CNI_NETNS"] = pod.Path, ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = CniPluginProcess.PluginDir, ["CNI_ARGS"] = $"K8S_POD_NAMESPACE={ns};K8S_POD_NAME={name}",
        };
        return ProcessRunner.Run("ip", ["netns", "exec", Node.Name, CniPluginProcess.Binary], Encoding.UTF8.GetBytes(PluginConfig(policyAgent)), TimeSpan.FromSeconds(30), env);
    }

    public sealed record Pod(PodNamespace Netns, string HostInterface, IReadOnlyList<IPAddress> Addresses)
    {
        public string V4 => Addresses.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToString();
        public string V6 => Addresses.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).ToString();
    }

    public ClusterSnapshot Snapshot(params V1NetworkPolicy[] policies) => new(
        kubeNamespaces.Select(n => new NamespaceState(n.Name, n.Labels)).ToList(), pods, policies, localPods);

    /// <summary>Compiles and applies, the way the agent will.</summary>
    public DesiredDataplane Enforce(params V1NetworkPolicy[] policies) => Enforce(null, policies);

    public DesiredDataplane Enforce(NftRuleset.Options? options, params V1NetworkPolicy[] policies)
    {
        var desired = PolicyCompiler.Compile(Snapshot(policies));
        using var nftables = OpenNftablesClient();
        new NftDataplane(Nft, new NetlinkElementWriter(nftables), options).FullSync(desired);
        return desired;
    }

    /// <summary>GET on the agent's status server (its default address, in the node), as the DaemonSet's probes and Prometheus do.</summary>
    public string AgentStatus(string path) =>
        Node.Exec("curl", "-s", "--max-time", "5", "http://127.0.0.1:9765" + path).Stdout.Trim();

    /// <summary>Packets of this pod that its egress policies denied (its counter in pod-denials),
    /// or its ingress policies (pod-ingress-denials); -1 when the pod has no counter there.</summary>
    public long DeniedPackets(string hostInterface, Direction direction = Direction.Egress)
    {
        string counters = direction == Direction.Egress ? "pod-denials" : "pod-ingress-denials";
        string set = Shell.Ok("ip", "netns", "exec", Node.Name, "nft", "list", "set", "inet", NftRuleset.Table, counters);
        var match = System.Text.RegularExpressions.Regex.Match(set, "\"" + hostInterface + @""" counter packets (\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>Makes the external host count every UDP datagram that reaches it on <paramref name="port"/>.</summary>
    public void CountUdpAtExternal(int port) =>
        Shell.Ok("ip", "netns", "exec", External.Name, "nft", $"add table inet count; add chain inet count input {{ type filter hook input priority 0; }}; add rule inet count input udp dport {port} counter");

    /// <summary>Datagrams counted since <see cref="CountUdpAtExternal"/>.</summary>
    public long UdpReceivedAtExternal()
    {
        var match = System.Text.RegularExpressions.Regex.Match(External.Exec("nft", "list", "table", "inet", "count").Stdout, @"counter packets (\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>A TCP echo server (IPv4) in a namespace, for long-lived connections; stopped on dispose.</summary>
    public void ServeEcho(PodNamespace where, int port)
    {
        var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", where.Name, "socat", $"TCP4-LISTEN:{port},reuseaddr,fork", "EXEC:cat" }) info.ArgumentList.Add(a);
        servers.Add(Process.Start(info)!);
        for (int i = 0; i < 100 && where.Exec("ss", "-H", "-ltn", $"sport = :{port}").Stdout.Trim().Length == 0; i++) Thread.Sleep(50);
    }

    /// <summary>A TCP or UDP server in a namespace that answers with a fixed word; stopped on dispose.</summary>
    public void Serve(PodNamespace where, int port, string reply, bool udp = false)
    {
        foreach (bool v6 in new[] { false, true })
        {
            string listen = (udp ? "UDP" : "TCP") + (v6 ? "6" : "4") + (udp ? "-RECVFROM:" : "-LISTEN:") + port + (v6 ? ",ipv6only=1" : "") + ",reuseaddr,fork";
            var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            // A server that feeds the probe's bytes to a shell that has already exited dies of
            // EPIPE, on a loaded machine now and then before it sends the word. TCP: -U, only the
            // shell's word goes back. UDP must read the datagram to learn its peer: the shell
            // stays a second to take it.
            string[] server = udp ? [listen, $"SYSTEM:echo {reply}; sleep 1"] : ["-U", listen, $"SYSTEM:echo {reply}"];
            foreach (string a in new[] { "netns", "exec", where.Name, "socat" }.Concat(server)) info.ArgumentList.Add(a);
            servers.Add(Process.Start(info)!);
        }
        string probe = udp ? "-lun" : "-ltn";
        for (int i = 0; i < 100; i++)
        {
            if (where.Exec("ss", "-H", probe, $"sport = :{port}").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 2) return;
            Thread.Sleep(20);
        }
        throw new InvalidOperationException($"server on port {port} in {where.Name} did not start");
    }

    /// <summary>The reply of a server, or null when nothing came back within a second, twice. Only
    /// a missing reply can be an accident (a SYN or a fork of the server late on a busy machine),
    /// so a second try can turn a spurious denial into the truth but never make a denial look allowed.</summary>
    public static string? Talk(PodNamespace from, string address, int port, bool udp = false, string? source = null) =>
        TalkOnce(from, address, port, udp, source) ?? TalkOnce(from, address, port, udp, source);

    /// <summary>One connection (one try): for tests that count the connections they make.</summary>
    public static string? TalkOnce(PodNamespace from, string address, int port, bool udp = false, string? source = null)
    {
        string target = address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;
        string remote = udp
            ? $"UDP:{target}:{port}" + (source != null ? $",bind={source}" : "")
            : $"TCP:{target}:{port},connect-timeout=1" + (source != null ? $",bind={source}" : "");
        // A TCP probe sends nothing: the server answers on accept, and bytes it never reads could
        // only reset the connection. UDP needs a datagram to answer. socat waits for the answer up
        // to -t after its input ends (0.5 s by default, and -T1 ends a silent UDP probe at 1 s); a
        // loaded machine can take longer to fork the server's shell, and a denied TCP flow ends at
        // the 1 s connect timeout anyway.
        var outcome = Shell.RunWithInput("ip", udp ? "ping\n" : "", "netns", "exec", from.Name, "socat", "-T1", udp ? "-t1" : "-t3", "-", remote);
        // Stdout holds only what the server sent, and a denied flow never gets the server's word.
        string reply = outcome.Stdout.Trim();
        return reply.Length > 0 ? reply : null;
    }

    public void Dispose()
    {
        foreach (var server in servers)
        {
            try { server.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            server.WaitForExit(5000);
            server.Dispose();
        }
        foreach (var pod in namespaces) pod.Dispose();
        External.Dispose();
        Node.Dispose(); // takes the table, the veths and routes with it
        try { Directory.Delete(stateDir, recursive: true); } catch (IOException) { }
    }
}
