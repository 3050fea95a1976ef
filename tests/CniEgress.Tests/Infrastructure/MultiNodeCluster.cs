using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.Processes;

namespace CniEgress.Tests.Infrastructure;

/// <summary>Several nodes on one underlay segment, inside the test's private namespace: a bridge
/// in an underlay namespace, each node a namespace with eth0 on it (192.0.2.1N/24 and
/// 2001:db8:1::1N/64), its own CNI state and its own agent (`run --manifests`, the shipped
/// binary) reading one shared folder that also holds the Node objects. Pods are wired by the
/// real plugin in their node's namespace and announced to its agent.</summary>
public sealed class MultiNodeCluster : IDisposable
{
    private static int counter;
    private readonly PodNamespace underlay;
    private readonly List<PodNamespace> owned = [];
    private readonly List<Process> servers = [];
    private readonly Dictionary<int, AgentProcess> agents = [];
    private readonly List<(int Node, string Namespace, string Name, Dictionary<string, string> Labels, ClusterPod Pod)> pods = [];
    private readonly string root;
    private HashSet<int> announcedNodes;

    public MultiNodeCluster(int count)
    {
        Sandbox.RequirePrivateNetworkNamespace();
        int n = Interlocked.Increment(ref counter) + Environment.ProcessId % 50 * 10;
        root = $"/run/cni-egress-test/cluster{n}";
        Folder = Path.Combine(root, "manifests");
        Directory.CreateDirectory(Folder);
        underlay = new PodNamespace($"ul{n}");
        Shell.Ok("ip", "-n", underlay.Name, "link", "add", "br0", "type", "bridge");
        Shell.Ok("ip", "-n", underlay.Name, "link", "set", "br0", "up");
        for (int k = 1; k <= count; k++)
        {
            var node = new PodNamespace($"n{n}x{k}");
            owned.Add(node);
            Nodes.Add(node);
            Shell.Ok("ip", "netns", "exec", node.Name, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0");
            Shell.Ok("ip", "-n", node.Name, "link", "add", "eth0", "type", "veth", "peer", "name", $"p{k}", "netns", underlay.Name);
            Shell.Ok("ip", "-n", underlay.Name, "link", "set", $"p{k}", "master", "br0", "up");
            Shell.Ok("ip", "-n", node.Name, "addr", "add", $"{NodeV4(k)}/24", "dev", "eth0");
            Shell.Ok("ip", "-n", node.Name, "addr", "add", $"{NodeV6(k)}/64", "dev", "eth0", "nodad");
            Shell.Ok("ip", "-n", node.Name, "link", "set", "eth0", "up");
        }
        announcedNodes = [.. Enumerable.Range(1, count)];
        WriteNodes();
        for (int k = 1; k <= count; k++)
        {
            var agent = AgentProcess.StartNative(Nodes[k - 1], "run", "--manifests", Folder, "--node-name", NodeName(k), "--state-dir", StateDir(k), "--status-address", "");
            agents[k] = agent;
            if (!agent.WaitUntilServing(TimeSpan.FromSeconds(30))) throw new InvalidOperationException($"agent of {NodeName(k)} did not start: {agent.Log}");
        }
    }

    /// <summary>Node k (1-based) is Nodes[k - 1].</summary>
    public List<PodNamespace> Nodes { get; } = [];

    public string Folder { get; }

    public static string NodeName(int k) => $"node{k}";
    public static string NodeV4(int k) => $"192.0.2.{10 + k}";
    public static string NodeV6(int k) => $"2001:db8:1::{10 + k}";
    private static string PodCidr4(int k) => $"10.244.{k}.0/24";
    private static string PodCidr6(int k) => $"fd00:10:244:{k}::/64";
    private string StateDir(int k) => Path.Combine(root, NodeName(k));

    public string AgentLog(int k) => agents[k].Log;

    public sealed record ClusterPod(PodNamespace Netns, int Node, IReadOnlyList<IPAddress> Addresses, string ContainerId)
    {
        public string V4 => Addresses.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToString();
        public string V6 => Addresses.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).ToString();
    }

    /// <summary>Wires a pod on node <paramref name="k"/> (ADD waits for that node's agent), then
    /// lists it in the shared folder with its addresses, as the API server would show it.</summary>
    public ClusterPod AddPod(int k, string ns, string name, Dictionary<string, string> labels)
    {
        var netns = new PodNamespace();
        owned.Add(netns);
        string id = "c" + netns.Name;
        var outcome = Plugin("ADD", k, netns, id, ns, name);
        if (outcome.ExitCode != 0) throw new InvalidOperationException($"ADD on {NodeName(k)} failed: {outcome.Stdout}{outcome.Stderr}");
        var addresses = JsonNode.Parse(outcome.Stdout)!["ips"]!.AsArray().Select(ip => IPAddress.Parse(((string)ip!["address"]!).Split('/')[0])).ToList();
        var pod = new ClusterPod(netns, k, addresses, id);
        pods.Add((k, ns, name, labels, pod));
        WritePods();
        ServePeerAddress(netns);
        return pod;
    }

    /// <summary>DEL on its node, and gone from the folder (a pod deleted, or about to move).</summary>
    public void RemovePod(string ns, string name)
    {
        int index = pods.FindIndex(p => p.Namespace == ns && p.Name == name);
        var (k, _, _, _, pod) = pods[index];
        var outcome = Plugin("DEL", k, pod.Netns, pod.ContainerId, ns, name);
        if (outcome.ExitCode != 0) throw new InvalidOperationException($"DEL failed: {outcome.Stdout}{outcome.Stderr}");
        pods.RemoveAt(index);
        WritePods();
    }

    /// <summary>The NetworkPolicy documents of the folder (replaced as a whole).</summary>
    public void SetPolicies(string yaml) => Write("policies.yaml", yaml);

    /// <summary>Which Node objects the folder holds (a node removed from the cluster and added back).</summary>
    public void SetNodes(params int[] present)
    {
        announcedNodes = [.. present];
        WriteNodes();
    }

    /// <summary>A Node object for a node off this segment (its own file).</summary>
    public void AddRemoteNode(string name, string address, string podCidr) =>
        Write($"node-{name}.yaml", $"apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nspec: {{podCIDRs: [\"{podCidr}\"]}}\nstatus: {{addresses: [{{type: InternalIP, address: \"{address}\"}}]}}\n");

    /// <summary>Waits (bounded) until every agent has applied what the folder says now.</summary>
    public void WaitApplied(Func<bool> condition, string what)
    {
        if (!Wait.Until(condition, TimeSpan.FromSeconds(10)))
            throw new Xunit.Sdk.XunitException($"not within 10 s: {what}\n" + string.Join("\n---\n", agents.Select(a => $"{NodeName(a.Key)}:\n{a.Value.Log}")));
    }

    /// <summary>The address the server in the pod at <paramref name="address"/> saw the connection
    /// come from; null when nothing came back within a second.</summary>
    public static string? Reach(PodNamespace from, string address, int port = 80) => PolicyNode.Talk(from, address, port);

    /// <summary>Whether node <paramref name="onNode"/> has a route of ours (proto 206) to exactly <paramref name="destination"/>.</summary>
    public bool HasRoute(int onNode, string destination)
    {
        var outcome = Nodes[onNode - 1].Exec("ip", destination.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "route", "show", "exact", destination, "proto", "206");
        if (outcome.ExitCode != 0) throw new InvalidOperationException("ip route show: " + outcome.Stderr);
        return outcome.Stdout.Trim().Length > 0;
    }

    private ProcessRunner.Outcome Plugin(string command, int k, PodNamespace netns, string id, string ns, string name)
    {
        var config = new JsonObject
        {
            ["cniVersion"] = "1.1.0",
            ["name"] = "cluster",
            ["type"] = "cni-egress",
            ["mtu"] = 1400,
            ["stateDir"] = StateDir(k),
            ["policyAgent"] = "required",
            ["ipMasq"] = true,
            ["clusterCIDRs"] = new JsonArray("10.244.0.0/16", "fd00:10:244::/48"),
            ["ipam"] = new JsonObject
            {
                ["type"] = "cni-egress",
                ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = PodCidr4(k) }), new JsonArray(new JsonObject { ["subnet"] = PodCidr6(k) })),
            },
        };
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = id, ["CNI_NETNS"] = netns.Path, ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = CniPluginProcess.PluginDir, ["CNI_ARGS"] = $"K8S_POD_NAMESPACE={ns};K8S_POD_NAME={name}",
        };
        return ProcessRunner.Run("ip", ["netns", "exec", Nodes[k - 1].Name, CniPluginProcess.Binary], Encoding.UTF8.GetBytes(config.ToJsonString()), TimeSpan.FromSeconds(30), env);
    }

    private void ServePeerAddress(PodNamespace where)
    {
        foreach (string listen in new[] { "TCP4-LISTEN:80,reuseaddr,fork", "TCP6-LISTEN:80,ipv6only=1,reuseaddr,fork" })
        {
            var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "netns", "exec", where.Name, "socat", "-U", listen, "SYSTEM:echo $SOCAT_PEERADDR" }) info.ArgumentList.Add(a);
            servers.Add(Process.Start(info)!);
        }
        for (int i = 0; i < 100 && where.Exec("ss", "-H", "-ltn", "sport = :80").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < 2; i++) Thread.Sleep(20);
    }

    private void WriteNodes()
    {
        var text = new StringBuilder();
        foreach (int k in announcedNodes.Order())
            text.Append($"---\napiVersion: v1\nkind: Node\nmetadata: {{name: {NodeName(k)}}}\nspec: {{podCIDR: \"{PodCidr4(k)}\", podCIDRs: [\"{PodCidr4(k)}\", \"{PodCidr6(k)}\"]}}\n"
                + $"status: {{addresses: [{{type: InternalIP, address: \"{NodeV4(k)}\"}}, {{type: InternalIP, address: \"{NodeV6(k)}\"}}, {{type: Hostname, address: {NodeName(k)}}}]}}\n");
        Write("nodes.yaml", text.ToString());
    }

    private void WritePods()
    {
        var text = new StringBuilder();
        foreach (string ns in pods.Select(p => p.Namespace).Distinct(StringComparer.Ordinal))
            text.Append($"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{team: {ns}}}}}\n");
        foreach (var (k, ns, name, labels, pod) in pods)
            text.Append($"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{string.Join(", ", labels.Select(l => $"{l.Key}: {l.Value}"))}}}}}\n"
                + $"spec: {{nodeName: {NodeName(k)}, containers: [{{name: main, image: busybox}}]}}\n"
                + $"status: {{podIPs: [{string.Join(", ", pod.Addresses.Select(a => $"{{ip: \"{a}\"}}"))}]}}\n");
        Write("pods.yaml", text.ToString());
    }

    /// <summary>Written aside and renamed over, as configuration tools do.</summary>
    private void Write(string file, string text)
    {
        string aside = Path.Combine(Folder, "." + file + ".tmp");
        File.WriteAllText(aside, text);
        File.Move(aside, Path.Combine(Folder, file), overwrite: true);
    }

    public void Dispose()
    {
        foreach (var server in servers)
        {
            try { server.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            server.WaitForExit(5000);
            server.Dispose();
        }
        foreach (var agent in agents.Values) agent.Dispose();
        foreach (var netns in owned) netns.Dispose();
        underlay.Dispose();
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }
}
