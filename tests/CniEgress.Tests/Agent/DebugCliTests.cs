using System.Diagnostics;
using System.Text.Json.Nodes;
using CniEgress.PolicyAgent.Policy;
using CniEgress.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static CniEgress.Tests.Infrastructure.PolicyNode;

namespace CniEgress.Tests.Agent;

/// <summary>The node-level debug CLI against a running agent in a private-namespace node:
/// `explain` agrees with real probes over a matrix of flows and names the rule or the reason;
/// `status` and `ruleset --diff` report the pods and find a tampered kernel; `flows` shows the
/// connections the test makes with the right policy; `capture -w` writes a pcap tcpdump reads;
/// bad input gets one line and a non-zero exit; with the agent down the CLI says so and still answers.
/// The agent and the CLI are the shipped native binary (dist/egress-agent).</summary>
public class DebugCliTests(ITestOutputHelper output)
{
    private const string Cluster = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: team-a, labels: {team: a}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: team-b, labels: {team: b}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: client, namespace: team-a, labels: {app: client}}
        spec: {containers: [{name: main, image: busybox}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: other, namespace: team-a, labels: {app: other}}
        spec: {containers: [{name: main, image: busybox}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: db, namespace: team-b, labels: {app: db}}
        spec: {containers: [{name: main, image: busybox, ports: [{name: http, containerPort: 80}]}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: client-egress, namespace: team-a}
        spec:
          podSelector: {matchLabels: {app: client}}
          policyTypes: [Egress]
          egress:
          - to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.10/32]}}]
            ports: [{port: 80}]
          - to: [{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: db}}}]
            ports: [{port: http}]
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny-other, namespace: team-a}
        spec:
          podSelector: {matchLabels: {app: other}}
          policyTypes: [Egress]
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: db-ingress, namespace: team-b}
        spec:
          podSelector: {matchLabels: {app: db}}
          policyTypes: [Ingress]
          ingress:
          - from:
            - {namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: client}}}
            - {ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.10/32]}}
            ports: [{port: http}, {port: 81}]
        """;

    private sealed class World : IDisposable
    {
        public World()
        {
            Node = new PolicyNode();
            Client = Node.AddPod("team-a", "client", new() { ["app"] = "client" });
            Other = Node.AddPod("team-a", "other", new() { ["app"] = "other" });
            Db = Node.AddPod("team-b", "db", new() { ["app"] = "db" }, [new ContainerPortState("http", 80, "TCP")]);
            foreach (int port in new[] { 80, 3306 }) Node.Serve(Node.External, port, "external" + port);
            Node.Serve(Node.External, 80, "external-udp", udp: true);
            foreach (int port in new[] { 80, 81 }) Node.Serve(Db.Netns, port, "db" + port);
            Folder = Path.Combine(Node.StateDir, "manifests");
            Directory.CreateDirectory(Folder);
            File.WriteAllText(Path.Combine(Folder, "cluster.yaml"), Cluster);
            Agent = AgentProcess.StartNative(Node.Node, "run", "--manifests", Folder, "--node-name", "node-1", "--state-dir", Node.StateDir);
            if (!Agent.WaitUntilServing(TimeSpan.FromSeconds(30))) throw new InvalidOperationException("agent did not start: " + Agent.Log);
        }

        public PolicyNode Node { get; }
        public Pod Client { get; }
        public Pod Other { get; }
        public Pod Db { get; }
        public string Folder { get; }
        public AgentProcess Agent { get; }

        public CniEgress.Processes.ProcessRunner.Outcome Cli(params string[] arguments) =>
            AgentProcess.RunNative(Node.Node, [.. arguments, "--state-dir", Node.StateDir]);

        public JsonObject Json(int expectedExit, params string[] arguments)
        {
            var outcome = Cli([.. arguments, "-o", "json"]);
            Assert.True(outcome.ExitCode == expectedExit, $"{string.Join(' ', arguments)}: exit {outcome.ExitCode}\n{outcome.Stdout}\n{outcome.Stderr}\n{Agent.Log}");
            return JsonNode.Parse(outcome.Stdout)!.AsObject();
        }

        public void Dispose()
        {
            Agent.Dispose();
            Node.Dispose();
        }
    }

    [KernelFact]
    public void Explain_agrees_with_real_probes_and_names_the_rule_or_every_reason()
    {
        using var world = new World();
        string db = world.Db.V4;
        var matrix = new (string From, string To, Func<string?> Probe, string Expect)[]
        {
            ("team-a/client", $"{OtherExternalV4}:80", () => Talk(world.Client.Netns, OtherExternalV4, 80), "allowed by team-a/client-egress egress[0]"),
            ("team-a/client", $"{ExternalV4}:80", () => Talk(world.Client.Netns, ExternalV4, 80), $"to[0]: ipBlock 203.0.113.0/24 except 203.0.113.10: {ExternalV4} is in except 203.0.113.10"),
            ("team-a/client", $"{OtherExternalV4}:3306", () => Talk(world.Client.Netns, OtherExternalV4, 3306), "ports[0]: tcp 80: port 3306 is outside it"),
            ("team-a/client", $"{OtherExternalV4}:80/udp", () => Talk(world.Client.Netns, OtherExternalV4, 80, udp: true), "ports[0]: tcp 80: the flow is udp"),
            ("team-a/client", "team-b/db:80", () => Talk(world.Client.Netns, db, 80), "allowed by team-a/client-egress egress[1]"),
            ("team-a/client", "team-b/db:81", () => Talk(world.Client.Netns, db, 81), "ports[0]: tcp 'http': on pod team-b/db it is port 80, not 81"),
            ("team-a/client", $"[{world.Db.V6}]:80", () => Talk(world.Client.Netns, world.Db.V6, 80), "allowed by team-a/client-egress egress[1]"),
            ("team-a/client", $"[{world.Db.V6}]:81", () => Talk(world.Client.Netns, world.Db.V6, 81), "on pod team-b/db it is port 80, not 81"),
            ("team-a/client", $"[{ExternalV6}]:80", () => Talk(world.Client.Netns, ExternalV6, 80), $"to[0]: ipBlock 203.0.113.0/24 except 203.0.113.10: {ExternalV6} is outside 203.0.113.0/24"),
            ("team-a/other", $"{OtherExternalV4}:80", () => Talk(world.Other.Netns, OtherExternalV4, 80), "isolated by team-a/deny-other, which have no egress rules"),
            ("team-b/db", $"{OtherExternalV4}:80", () => Talk(world.Db.Netns, OtherExternalV4, 80), "not isolated for egress"),
            // Into db, which team-b/db-ingress isolates: from external hosts and from the node's pods.
            (OtherExternalV4, "team-b/db:80", () => Talk(world.Node.External, db, 80, source: OtherExternalV4), "allowed by team-b/db-ingress ingress[0]"),
            (OtherExternalV4, "team-b/db:81", () => Talk(world.Node.External, db, 81, source: OtherExternalV4), "allowed by team-b/db-ingress ingress[0]"),
            (ExternalV4, "team-b/db:80", () => Talk(world.Node.External, db, 80, source: ExternalV4), $"from[1]: ipBlock 203.0.113.0/24 except 203.0.113.10: {ExternalV4} is in except 203.0.113.10"),
            (ExternalV6, $"[{world.Db.V6}]:80", () => Talk(world.Node.External, world.Db.V6, 80), $"from[1]: ipBlock 203.0.113.0/24 except 203.0.113.10: {ExternalV6} is outside 203.0.113.0/24"),
            ("team-a/other", "team-b/db:80", () => Talk(world.Other.Netns, db, 80), "from[0]: podSelector + namespaceSelector: pod team-a/other (app=other) does not match the podSelector"),
        };
        foreach (var (from, to, probe, expect) in matrix)
        {
            bool reached = probe() != null;
            var outcome = world.Cli("explain", "--from", from, "--to", to, "-o", "json");
            var answer = JsonNode.Parse(outcome.Stdout)!.AsObject();
            output.WriteLine($"{from} -> {to}: probe {(reached ? "reached" : "blocked")}, explain: {answer["summary"]}");
            Assert.Equal(reached, (bool)answer["allowed"]!);
            Assert.Equal(reached ? 0 : 3, outcome.ExitCode);
            Assert.Contains(expect, Said(answer), StringComparison.Ordinal);
            Assert.Null(answer["warning"]);
        }

        // The text for people names the verdict and every reason; --kernel agrees with the live sets.
        var text = world.Cli("explain", "--from", "team-a/client", "--to", $"{ExternalV4}:80", "--kernel");
        output.WriteLine(text.Stdout);
        Assert.Contains("DENIED", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("team-a/client-egress egress[1]: does not match", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("kernel: agrees (denied)", text.Stdout, StringComparison.Ordinal);
        // Without a port: which ports are open to the destination, and through which rules.
        var open = world.Json(0, "explain", "--from", "team-a/client", "--to", OtherExternalV4, "--kernel");
        Assert.Equal(["tcp 80"], open["allowedPorts"]!.AsArray().Select(p => (string)p!));
        Assert.Equal("open through team-a/client-egress egress[0] (tcp 80)", (string?)open["summary"]);
        Assert.True((bool)open["kernel"]!["agrees"]!);
        // Both ends are pods of this node: what the client's egress and db's ingress both open.
        var named = world.Json(0, "explain", "--from", "team-a/client", "--to", "team-b/db");
        Assert.Equal("open through team-a/client-egress egress[1] (tcp 'http' (80 on team-b/db))", (string?)named["egress"]!["summary"]);
        Assert.Equal("open through team-b/db-ingress ingress[0] (tcp 'http' (80 on team-b/db), tcp 81)", (string?)named["ingress"]!["summary"]);
        Assert.Equal(["tcp 80"], named["allowedPorts"]!.AsArray().Select(p => (string)p!));
        var both = world.Cli("explain", "--from", "team-a/client", "--to", "team-b/db:81");
        output.WriteLine(both.Stdout);
        Assert.Contains("egress:  denied: isolated by team-a/client-egress", both.Stdout, StringComparison.Ordinal);
        Assert.Contains("ingress: allowed by team-b/db-ingress ingress[0]", both.Stdout, StringComparison.Ordinal);
        var closed = world.Json(3, "explain", "--from", "team-a/client", "--to", ExternalV4);
        Assert.Empty(closed["allowedPorts"]!.AsArray());
        Assert.StartsWith("denied on every port", (string?)closed["summary"], StringComparison.Ordinal);
        Assert.Equal(["every port"], world.Json(0, "explain", "--from", "team-b/db", "--to", "team-a/client")["allowedPorts"]!.AsArray().Select(p => (string)p!));
        var neither = world.Cli("explain", "--from", ExternalV4, "--to", $"{OtherExternalV4}:80");
        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("no policy of this node sees that flow", neither.Stderr, StringComparison.Ordinal);
        output.WriteLine(world.Cli("explain", "--from", "team-a/client", "--to", OtherExternalV4).Stdout);

        var v6 = world.Json(0, "explain", "--from", "team-a/client", "--to", $"[{world.Db.V6}]:80", "--kernel");
        Assert.True((bool)v6["kernel"]!["agrees"]!);
        Assert.Equal(world.Client.V6, (string?)v6["sourceAddress"]);
    }

    /// <summary>The summary and every reason of an explain answer, one per line.</summary>
    private static string Said(JsonObject answer) => string.Join('\n', new[] { (string)answer["summary"]! }
        .Concat(answer["rules"]!.AsArray().SelectMany(r => r!["reasons"]!.AsArray().Select(x => (string)x!))));

    [KernelFact]
    public void Status_and_ruleset_show_the_pods_and_the_diff_finds_a_tampered_kernel()
    {
        using var world = new World();
        var status = world.Json(0, "status");
        Assert.Equal("ready", (string?)status["agent"]!["health"]);
        Assert.True((bool)status["kernel"]!["table"]!);
        Assert.True((int)status["kernel"]!["elements"]! > 0);
        var client = status["pods"]!.AsArray().Single(p => (string?)p!["pod"] == "team-a/client")!;
        Assert.True((bool)client["isolated"]!);
        Assert.Equal("team-a/client-egress", (string?)client["policies"]![0]);
        Assert.Equal(world.Client.HostInterface, (string?)client["interface"]);
        Assert.False((bool)status["pods"]!.AsArray().Single(p => (string?)p!["pod"] == "team-b/db")!["isolated"]!);
        var table = world.Cli("status");
        output.WriteLine(table.Stdout);
        Assert.Matches(@"team-a/client\s+ceg\w+\s+[0-9.]+,[0-9a-f:]+\s+team-a/client-egress\s+open", table.Stdout);

        var ruleset = world.Json(0, "ruleset", "--diff");
        Assert.Empty(ruleset["differences"]!.AsArray());
        string allows = ruleset["pods"]!.AsArray().Single(p => (string?)p!["pod"] == "team-a/client")!["allows"]!.ToJsonString();
        Assert.Contains("tcp 80: ", allows, StringComparison.Ordinal);
        Assert.Contains(world.Db.V4, allows, StringComparison.Ordinal);
        output.WriteLine(world.Cli("ruleset").Stdout);

        // Someone removes the client's class from the kernel: it is no longer isolated there.
        world.Node.Node.Exec("nft", "delete", "element", "inet", "cni-egress", "pod-class", $"{{ \"{world.Client.HostInterface}\" }}");
        var diff = world.Cli("ruleset", "--diff");
        output.WriteLine(diff.Stdout);
        Assert.Equal(4, diff.ExitCode);
        Assert.Contains($"{world.Client.HostInterface}: desired isolated, kernel not isolated", diff.Stdout, StringComparison.Ordinal);
        var disagree = world.Json(4, "explain", "--from", "team-a/client", "--to", $"{ExternalV4}:80", "--kernel");
        Assert.False((bool)disagree["allowed"]!);
        Assert.True((bool)disagree["kernel"]!["allowed"]!);
    }

    [KernelFact]
    public void Flows_shows_the_connections_made_with_their_policy_and_capture_writes_a_pcap()
    {
        using var world = new World();
        using (var flows = AgentProcess.StartNative(world.Node.Node, "flows", "--verdict", "any", "--namespace", "team-a", "--count", "2", "--duration", "30", "-o", "json", "--state-dir", world.Node.StateDir))
        {
            Assert.True(flows.WaitForLog("watching NFLOG group(s) 101, 102", TimeSpan.FromSeconds(20)), flows.Log);
            // One connection each (TalkOnce): flows prints a line per connection.
            Assert.Null(TalkOnce(world.Node.External, world.Db.V4, 80, source: ExternalV4)); // team-b: filtered out
            Assert.Null(TalkOnce(world.Client.Netns, ExternalV4, 80));
            Assert.NotNull(Talk(world.Client.Netns, OtherExternalV4, 80));
            Assert.True(Wait.Until(() => flows.HasExited, TimeSpan.FromSeconds(20)), flows.Log);
            output.WriteLine(flows.Log);
            var seen = flows.Log.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).ToList();
            var denied = Assert.Single(seen, f => (string?)f["verdict"] == "denied");
            Assert.Equal("team-a/client", (string?)denied["pod"]);
            Assert.Equal($"{ExternalV4}:80/tcp", (string?)denied["destination"]);
            Assert.Contains("isolated by team-a/client-egress", (string?)denied["reason"], StringComparison.Ordinal);
            var allowed = Assert.Single(seen, f => (string?)f["verdict"] == "allowed");
            Assert.Equal($"{OtherExternalV4}:80/tcp", (string?)allowed["destination"]);
            Assert.Equal("allowed by team-a/client-egress egress[0]", (string?)allowed["reason"]);
            Assert.All(seen, f => Assert.Equal("egress", (string?)f["direction"]));
        }

        // Ingress: a denied connection into db is shown for db, from its source, with db's ingress reason.
        using (var flows = AgentProcess.StartNative(world.Node.Node, "flows", "--pod", "team-b/db", "--count", "1", "--duration", "30", "-o", "json", "--state-dir", world.Node.StateDir))
        {
            Assert.True(flows.WaitForLog("watching NFLOG group(s) 101", TimeSpan.FromSeconds(20)), flows.Log);
            Assert.Null(TalkOnce(world.Node.External, world.Db.V4, 80, source: ExternalV4));
            Assert.True(Wait.Until(() => flows.HasExited, TimeSpan.FromSeconds(20)), flows.Log);
            output.WriteLine(flows.Log);
            var denied = JsonNode.Parse(flows.Log.Split('\n').Single(l => l.StartsWith('{')))!;
            Assert.Equal(("team-b/db", "ingress", ExternalV4, $"{world.Db.V4}:80/tcp"),
                ((string?)denied["pod"], (string?)denied["direction"], (string?)denied["source"], (string?)denied["destination"]));
            Assert.StartsWith("denied: isolated by team-b/db-ingress", (string?)denied["reason"], StringComparison.Ordinal);
        }

        string pcap = Path.Combine(world.Node.StateDir, "client.pcap");
        using (var capture = AgentProcess.StartNative(world.Node.Node, "capture", "--pod", "team-a/client", "-w", pcap, "--count", "4", "--duration", "30", "-o", "json", "--state-dir", world.Node.StateDir, "tcp", "port", "80"))
        {
            Assert.True(capture.WaitForLog("capturing on " + world.Client.HostInterface, TimeSpan.FromSeconds(20)), capture.Log);
            Assert.NotNull(Talk(world.Client.Netns, OtherExternalV4, 80));
            Assert.True(Wait.Until(() => capture.HasExited, TimeSpan.FromSeconds(20)), capture.Log);
            output.WriteLine(capture.Log);
            var packets = capture.Log.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(4, packets.Count);
            Assert.Equal(("S", $"{OtherExternalV4}:80", "tcp"), ((string?)packets[0]["flags"], (string?)packets[0]["destination"], (string?)packets[0]["protocol"]));
            Assert.Equal($"{OtherExternalV4}:80", (string?)packets[1]["source"]);
        }
        var read = Shell.Run("tcpdump", "-n", "-r", pcap);
        output.WriteLine(read.Stdout + read.Stderr);
        Assert.Equal(0, read.ExitCode);
        Assert.Equal(4, read.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains($"{world.Client.V4}.", read.Stdout, StringComparison.Ordinal);
        Assert.Contains($"> {OtherExternalV4}.80: Flags [S]", read.Stdout, StringComparison.Ordinal);
    }

    [KernelFact]
    public void Bad_input_gets_one_line_and_the_agent_down_is_said_and_worked_around()
    {
        using var world = new World();
        foreach (var (arguments, expect) in new (string[], string)[]
        {
            (["explain", "--from", "team-a/ghost", "--to", $"{ExternalV4}:80"], "pod team-a/ghost has no interface on this node"),
            (["explain", "--from", "team-a/client", "--to", "not-an-address:80"], "is neither an address nor NAMESPACE/POD"),
            (["explain", "--from", "team-a/client", "--to", $"{ExternalV4}:99999"], "'99999' is not a port"),
            (["explain", "--from", "team-a/client", "--to", $"{ExternalV4}:80/icmp"], "'icmp' is not a protocol"),
            (["flows", "--log-group", "5", "--count", "1"], "no rule of table inet cni-egress logs to NFLOG group 6"),
            (["capture", "--pod", "team-a/ghost", "--count", "1"], "pod team-a/ghost has no interface on this node"),
            (["capture", "--pod", "team-a/client", "--count", "1", "not", "a", "filter", "(("], "filter 'not a filter (('"),
        })
        {
            var outcome = world.Cli(arguments);
            output.WriteLine($"{string.Join(' ', arguments)} -> {outcome.ExitCode}: {outcome.Stderr.Trim()}");
            Assert.Equal(2, outcome.ExitCode);
            string line = Assert.Single(outcome.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
            Assert.Contains(expect, line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", outcome.Stderr, StringComparison.Ordinal);
        }

        // The agent stops: the CLI says so, and answers from the manifests (or the kernel) itself.
        world.Agent.Kill();
        var offline = world.Json(0, "status", "--manifests", world.Folder);
        Assert.StartsWith("offline: the agent is not answering", (string?)offline["source"], StringComparison.Ordinal);
        Assert.True((bool)offline["pods"]!.AsArray().Single(p => (string?)p!["pod"] == "team-a/client")!["isolated"]!);
        var explained = world.Json(3, "explain", "--from", "team-a/client", "--to", $"{ExternalV4}:80", "--manifests", world.Folder, "--kernel");
        Assert.True((bool)explained["kernel"]!["agrees"]!);
        var kernelOnly = world.Json(0, "status");
        Assert.Contains("from the kernel only", (string?)kernelOnly["source"], StringComparison.Ordinal);
        Assert.True((bool)kernelOnly["pods"]!.AsArray().Single(p => (string?)p!["pod"] == "team-a/client")!["isolated"]!);
        var noPolicies = world.Cli("explain", "--from", "team-a/client", "--to", $"{ExternalV4}:80");
        Assert.Equal(1, noPolicies.ExitCode);
        Assert.Contains("explain needs the policies: start the agent or give --manifests DIR", noPolicies.Stderr, StringComparison.Ordinal);
        var diff = world.Json(0, "ruleset", "--diff", "--manifests", world.Folder);
        Assert.Empty(diff["differences"]!.AsArray());
    }

    [KernelFact]
    public void Without_root_one_line_says_so_and_completion_knows_the_commands()
    {
        var asNobody = Shell.Run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", AgentProcess.Native, "status");
        Assert.Equal(1, asNobody.ExitCode);
        Assert.Equal("error: the debug commands need root (the agent's socket, nftables and packet capture)", asNobody.Stderr.Trim());

        var script = Shell.Run(AgentProcess.Native, "completion", "bash");
        Assert.Contains("complete -o default -F _egress_agent_complete egress-agent", script.Stdout, StringComparison.Ordinal);
        var suggested = Shell.Run(AgentProcess.Native, "[suggest:4]", "expl");
        Assert.Equal("explain", suggested.Stdout.Trim());
        var options = Shell.Run(AgentProcess.Native, "[suggest:10]", "flows --ve");
        Assert.Contains("--verdict", options.Stdout, StringComparison.Ordinal);
    }
}
