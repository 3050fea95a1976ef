using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.Netns;
using CniEgress.PolicyAgent.Policy;
using CniEgress.Tests.Infrastructure;

namespace CniEgress.Tests.Conformance;

/// <summary>The upstream NetworkPolicy e2e model on one node: namespaces x, y, z (label ns=NAME),
/// pods a, b, c in each (label pod=NAME) wired by the real plugin, each serving TCP and UDP 80
/// and 81 (named containerPorts serve-80-tcp ...) from sockets this process holds in the pod's
/// namespace; external hosts 203.0.113.10 and .11 on TEST-NET, routed from the node, serving
/// the same ports and TCP 3306 (ipMasq on: off-cluster traffic leaves with the node's address);
/// the shipped agent in --manifests mode enforcing what the cases write; DEL of every pod at the end.</summary>
public sealed class NetpolWorld : IDisposable
{
    public static readonly string[] Namespaces = ["x", "y", "z"];
    public static readonly string[] PodNames = ["a", "b", "c"];
    public static readonly string[] Pods = [.. Namespaces.SelectMany(ns => PodNames.Select(p => $"{ns}/{p}"))];
    private static readonly int[] Ports = [80, 81];
    public static readonly string[] Externals = [PolicyNode.ExternalV4, PolicyNode.OtherExternalV4];

    private readonly PolicyNode node;
    private readonly Dictionary<string, PolicyNode.Pod> pods = [];
    private readonly Dictionary<string, NetworkNamespace> netns = [];
    private readonly NetworkNamespace external;
    private readonly List<Socket> listeners = [];
    private readonly CancellationTokenSource stop = new();
    private readonly AgentProcess agent;
    private readonly string folder;
    private string written = "";

    public NetpolWorld()
    {
        node = new PolicyNode(ipMasq: true);
        foreach (string pod in Pods)
        {
            var (ns, name) = Split(pod);
            pods[pod] = node.AddPod(ns, name);
            netns[pod] = NetworkNamespace.Open(pods[pod].Netns.Path);
            Serve(netns[pod], Address(pod), pod, Ports);
        }
        external = NetworkNamespace.Open(node.External.Path);
        foreach (string address in Externals) Serve(external, address, address, [.. Ports, 3306]);
        folder = Path.Combine(node.StateDir, "manifests");
        Directory.CreateDirectory(folder);
        WriteFile(DefaultNamespaceLabels(), DefaultPodLabels(), []);
        agent = AgentProcess.StartNative(node.Node, "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir, "--status-address", "");
        if (!agent.WaitUntilServing(TimeSpan.FromSeconds(30))) throw new InvalidOperationException("agent did not start: " + agent.Log);
    }

    public string AgentLog => agent.Log;

    public string Address(string pod) => pods[pod].V4;

    public static Dictionary<string, Dictionary<string, string>> DefaultNamespaceLabels() =>
        Namespaces.ToDictionary(ns => ns, ns => new Dictionary<string, string> { ["ns"] = ns });

    public static Dictionary<string, Dictionary<string, string>> DefaultPodLabels() =>
        Pods.ToDictionary(p => p, p => new Dictionary<string, string> { ["pod"] = Split(p).Name });

    /// <summary>Writes the cluster (labels) and the policies (JSON documents, placeholders
    /// resolved) into the agent's folder as one file (one rename: the agent never reads half a
    /// step) and waits, bounded, until it has applied them and gone quiet.</summary>
    public void Write(Dictionary<string, Dictionary<string, string>> namespaceLabels, Dictionary<string, Dictionary<string, string>> podLabels, IEnumerable<JsonNode> policies)
    {
        int before = AppliedLines();
        if (!WriteFile(namespaceLabels, podLabels, policies)) return;
        if (!Wait.Until(() => AppliedLines() > before, TimeSpan.FromSeconds(10)))
            throw new InvalidOperationException("the agent did not apply the step: " + agent.Log);
        // Quiet for 300 ms: nothing of this step is still on its way to the kernel.
        for (int i = 0, seen = AppliedLines(); i < 30; i++, seen = AppliedLines())
        {
            Thread.Sleep(300);
            if (AppliedLines() == seen) break;
        }
        var problems = agent.Log.Split('\n').Where(l => l.Contains("manifest skipped", StringComparison.Ordinal)).ToList();
        if (problems.Count > 0) throw new InvalidOperationException("the agent skipped a manifest: " + string.Join("\n", problems));
    }

    /// <summary>False when the folder already says exactly this.</summary>
    private bool WriteFile(Dictionary<string, Dictionary<string, string>> namespaceLabels, Dictionary<string, Dictionary<string, string>> podLabels, IEnumerable<JsonNode> policies)
    {
        string text = ClusterYaml(namespaceLabels, podLabels) + string.Concat(policies.Select(p => "---\n" + Resolve(p.ToJsonString()) + "\n"));
        if (text == written) return false;
        Replace("world.yaml", text);
        written = text;
        return true;
    }

    private int AppliedLines() => agent.Log.Split('\n').Count(l => l.Contains("applied", StringComparison.Ordinal));

    /// <summary>Every cell of one table: can FROM (a pod) open a connection to TO's port (TO: a pod
    /// or an external address; TCP: connect and read the server's reply; UDP: a datagram
    /// answered), probed in parallel, bounded.</summary>
    public Dictionary<(string From, string To), bool> Probe(int port, string protocol, IEnumerable<string> columns) =>
        Probe(Pods.SelectMany(from => columns.Select(to => (from, to))), port, protocol, TimeSpan.FromMilliseconds(700), tries: 2);

    /// <summary>Some cells again, slower (more tries, a longer wait). Only a denial can be wrong by
    /// accident (a SYN or datagram lost to a busy machine, a server late to answer); a connection
    /// that got its reply was allowed. So a cell seen denied where the table says allowed is
    /// probed again this way before it counts; it cannot hide a denial that is real.</summary>
    public Dictionary<(string From, string To), bool> Confirm(IEnumerable<(string From, string To)> cells, int port, string protocol) =>
        Probe(cells, port, protocol, TimeSpan.FromSeconds(2), tries: 3);

    private Dictionary<(string From, string To), bool> Probe(IEnumerable<(string From, string To)> cells, int port, string protocol, TimeSpan wait, int tries)
    {
        var results = new ConcurrentDictionary<(string, string), bool>();
        Parallel.ForEach(cells.ToList(), new ParallelOptions { MaxDegreeOfParallelism = 27 }, cell =>
            results[cell] = Reaches(cell.From, cell.To, port, protocol == "UDP", wait, tries));
        return results.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    private bool Reaches(string from, string to, int port, bool udp, TimeSpan wait, int tries)
    {
        // More than one try: a first SYN or datagram lost to a busy machine is not a denial.
        for (int attempt = 0; attempt < tries; attempt++)
            if (TryOnce(from, to, port, udp, wait)) return true;
        return false;
    }

    private bool TryOnce(string from, string to, int port, bool udp, TimeSpan wait)
    {
        var target = new IPEndPoint(IPAddress.Parse(pods.ContainsKey(to) ? Address(to) : to), port);
        using var socket = netns[from].Run(() => udp
            ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var timeout = new CancellationTokenSource(wait);
        var buffer = new byte[64];
        try
        {
            if (udp)
            {
                socket.SendTo("probe\n"u8, target);
                int read = socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).AsTask().GetAwaiter().GetResult();
                return Encoding.ASCII.GetString(buffer, 0, read) == to;
            }
            socket.ConnectAsync(target, timeout.Token).AsTask().GetAwaiter().GetResult();
            int length = socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).AsTask().GetAwaiter().GetResult();
            return Encoding.ASCII.GetString(buffer, 0, length) == to;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>TCP and UDP on these ports of one address; every answer is <paramref name="name"/>
    /// (a prober checks it came from the host it meant).</summary>
    private void Serve(NetworkNamespace where, string address, string name, int[] ports)
    {
        byte[] reply = Encoding.ASCII.GetBytes(name);
        var endpoint = IPAddress.Parse(address);
        foreach (int port in ports)
        {
            var tcp = where.Run(() =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(endpoint, port));
                s.Listen(64);
                return s;
            });
            var udp = where.Run(() =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(endpoint, port));
                return s;
            });
            listeners.Add(tcp);
            listeners.Add(udp);
            _ = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var client = await tcp.AcceptAsync(stop.Token);
                        await client.SendAsync(reply, SocketFlags.None);
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { if (stop.IsCancellationRequested) return; }
                }
            });
            _ = Task.Run(async () =>
            {
                var buffer = new byte[64];
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var received = await udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop.Token);
                        await udp.SendToAsync(reply, SocketFlags.None, received.RemoteEndPoint);
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { if (stop.IsCancellationRequested) return; }
                }
            });
        }
    }

    private string Resolve(string text)
    {
        foreach (string pod in Pods)
        {
            string address = Address(pod);
            text = text.Replace("{{ip " + pod + "}}", address, StringComparison.Ordinal)
                .Replace("{{cidr24 " + pod + "}}", address[..address.LastIndexOf('.')] + ".0/24", StringComparison.Ordinal)
                .Replace("{{net4 " + pod + "}}", $"{int.Parse(address.Split('.')[0]) & 0xF0}.0.0.0", StringComparison.Ordinal);
        }
        if (text.Contains("{{", StringComparison.Ordinal)) throw new InvalidDataException("unknown placeholder in " + text);
        return text;
    }

    private static string ClusterYaml(Dictionary<string, Dictionary<string, string>> namespaceLabels, Dictionary<string, Dictionary<string, string>> podLabels)
    {
        var documents = new List<JsonNode>();
        foreach (string ns in Namespaces)
            documents.Add(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns, ["labels"] = Labels(namespaceLabels[ns]) } });
        foreach (string pod in Pods)
        {
            var (ns, name) = Split(pod);
            var ports = new JsonArray();
            foreach (int port in Ports)
                foreach (string protocol in new[] { "TCP", "UDP" })
                    ports.Add((JsonNode)new JsonObject { ["name"] = $"serve-{port}-{protocol.ToLowerInvariant()}", ["containerPort"] = port, ["protocol"] = protocol });
            documents.Add(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = Labels(podLabels[pod]) },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "main", ["image"] = "agnhost", ["ports"] = ports }) },
            });
        }
        return string.Join("---\n", documents.Select(d => d.ToJsonString() + "\n"));
    }

    private static JsonObject Labels(Dictionary<string, string> labels)
    {
        var json = new JsonObject();
        foreach (var (key, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal)) json[key] = value;
        return json;
    }

    private void Replace(string file, string text)
    {
        string temporary = Path.Combine(folder, "." + file + ".tmp");
        File.WriteAllText(temporary, text);
        File.Move(temporary, Path.Combine(folder, file), overwrite: true);
    }

    public static (string Namespace, string Name) Split(string pod) => (pod.Split('/')[0], pod.Split('/')[1]);

    public void Dispose()
    {
        stop.Cancel();
        foreach (var socket in listeners) socket.Dispose();
        // DEL every pod, as the runtime does when it removes them.
        foreach (var (pod, wired) in pods)
        {
            var (ns, name) = Split(pod);
            node.RunPlugin("DEL", wired.Netns, ns, name);
        }
        agent.Dispose();
        foreach (var handle in netns.Values) handle.Dispose();
        external.Dispose();
        node.Dispose();
        stop.Dispose();
    }
}
