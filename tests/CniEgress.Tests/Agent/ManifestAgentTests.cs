using System.Diagnostics;
using CniEgress.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static CniEgress.Tests.Infrastructure.PolicyNode;

namespace CniEgress.Tests.Agent;

/// <summary>egress-agent run --manifests against plugin-wired pods: the policy in the folder is
/// enforced, edits apply within a second, bad documents are reported with file and line while
/// the rest applies, a killed agent leaves the rules in force, and cleanup removes them.</summary>
public class ManifestAgentTests(ITestOutputHelper output)
{
    private static string Policy(string cidr) => $"""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: client-egress
          namespace: team-a
        spec:
          podSelector:
            matchLabels:
              app: client
          policyTypes: [Egress]
          egress:
          - to:
            - ipBlock:
                cidr: {cidr}
            ports:
            - port: 80
        """;

    private const string Cluster = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: team-a
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: client
          namespace: team-a
          labels:
            app: client
        spec:
          containers:
          - name: main
            image: busybox
        """;

    [KernelFact]
    public void Manifests_are_enforced_followed_reported_and_survive_the_agent()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", new() { ["app"] = "client" });
        node.Serve(node.External, 80, "external");
        string folder = ManifestFolder(node, Policy(OtherExternalV4 + "/32"));

        using var agent = AgentProcess.Start(node.Node, "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir);
        // First the agent's word that the table is in (a probe alone could time out under load and look denied).
        Assert.True(agent.WaitUntilServing(TimeSpan.FromSeconds(30)), agent.Log);
        Assert.True(Wait.Until(() => Talk(client.Netns, ExternalV4, 80) == null && Talk(client.Netns, OtherExternalV4, 80) == "external", TimeSpan.FromSeconds(20)), agent.Log);

        // Probes and metrics, as the DaemonSet's probes and Prometheus would read them.
        Assert.True(Talk(client.Netns, ExternalV4, 80) == null, // one denial surely counted for the pod
            agent.Log + "\n" + node.Node.Exec("nft", "list", "table", "inet", "cni-egress").Stdout);
        Assert.Equal("ok", node.AgentStatus("/healthz"));
        Assert.Equal("ready", node.AgentStatus("/readyz"));
        string metrics = node.AgentStatus("/metrics");
        Assert.Contains("egress_agent_ready 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("egress_agent_isolated_pods 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("egress_agent_policies 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("egress_agent_full_syncs_total 1\n", metrics, StringComparison.Ordinal);
        Assert.Matches($"egress_agent_denied_packets_total{{pod=\"{client.HostInterface}\",direction=\"egress\"}} [1-9]", metrics); // the denied probes above
        Assert.Matches("egress_agent_apply_seconds_count [1-9]", metrics);
        // The audit log names the pod, the destination and the policy that isolates it.
        Assert.True(agent.WaitForLog($"denied egress: team-a/client ({client.HostInterface}) -> {ExternalV4}:80/tcp; isolated by team-a/client-egress", TimeSpan.FromSeconds(5)), agent.Log);

        // An edit: the other address becomes the allowed one.
        var clock = Stopwatch.StartNew();
        Replace(Path.Combine(folder, "policy.yaml"), Policy(ExternalV4 + "/32"));
        Assert.True(Wait.Until(() => Talk(client.Netns, ExternalV4, 80) == "external", TimeSpan.FromSeconds(5)), agent.Log);
        output.WriteLine($"edit enforced after {clock.ElapsedMilliseconds} ms (including the probes)");
        Assert.Null(Talk(client.Netns, OtherExternalV4, 80));

        // A broken document and an unknown kind are reported with file and line; the rest applies.
        Replace(Path.Combine(folder, "bad.yaml"), """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: [unclosed
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: web
            """);
        Assert.True(agent.WaitForLog("bad.yaml:4", TimeSpan.FromSeconds(5)), agent.Log);
        Assert.True(agent.WaitForLog("bad.yaml:6: kind Service", TimeSpan.FromSeconds(5)), agent.Log);
        Assert.Equal("external", Talk(client.Netns, ExternalV4, 80));
        Assert.Null(Talk(client.Netns, OtherExternalV4, 80));

        // A crash leaves the kernel enforcing the last state.
        agent.Kill();
        Assert.Null(Talk(client.Netns, OtherExternalV4, 80));
        Assert.Equal("external", Talk(client.Netns, ExternalV4, 80));

        var cleanup = AgentProcess.RunOnce(node.Node, "cleanup");
        Assert.True(cleanup.ExitCode == 0, cleanup.Stderr);
        Assert.Equal("external", Talk(client.Netns, OtherExternalV4, 80));
        var again = AgentProcess.RunOnce(node.Node, "cleanup");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing to remove", again.Stderr, StringComparison.Ordinal);
    }

    [KernelFact]
    public void A_flushed_or_deleted_table_is_found_within_the_verify_interval_and_written_again()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", new() { ["app"] = "client" });
        node.Serve(node.External, 80, "external");
        string folder = ManifestFolder(node, Policy(OtherExternalV4 + "/32"));
        using var agent = AgentProcess.Start(node.Node, "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir, "--verify-interval", "0.5");
        Assert.True(agent.WaitUntilServing(TimeSpan.FromSeconds(30)), agent.Log);
        Assert.True(Wait.Until(() => Talk(client.Netns, ExternalV4, 80) == null, TimeSpan.FromSeconds(20)), agent.Log);

        // Someone flushes our table's rules (the sets stay): nothing would stop the pod any more.
        node.Node.Exec("nft", "flush", "table", "inet", "cni-egress");
        Assert.True(agent.WaitForLog("where", TimeSpan.FromSeconds(10)), agent.Log);
        Assert.True(Wait.Until(() => Talk(client.Netns, ExternalV4, 80) == null && Talk(client.Netns, OtherExternalV4, 80) == "external", TimeSpan.FromSeconds(10)), agent.Log);

        // Someone deletes the table.
        node.Node.Exec("nft", "delete", "table", "inet", "cni-egress");
        Assert.True(agent.WaitForLog("is gone", TimeSpan.FromSeconds(10)), agent.Log);
        Assert.True(Wait.Until(() => Talk(client.Netns, ExternalV4, 80) == null && Talk(client.Netns, OtherExternalV4, 80) == "external", TimeSpan.FromSeconds(10)), agent.Log);
        Assert.Matches("egress_agent_drift_repairs_total [2-9]", node.AgentStatus("/metrics"));
    }

    [KernelFact]
    public void A_tightened_policy_stops_the_denied_established_connection_within_a_second()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", new() { ["app"] = "client" });
        node.ServeEcho(node.External, 7000);
        node.ServeEcho(node.External, 7001);
        string folder = ManifestFolder(node, EchoPolicy(7000, 7001));
        // The agent as shipped (native AOT): a JIT agent's first change compiles its incremental
        // path first, and on a loaded machine that alone can take most of the second.
        using var agent = AgentProcess.StartNative(node.Node, "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir);
        Assert.True(agent.WaitUntilServing(TimeSpan.FromSeconds(30)), agent.Log);

        using var podNamespace = CniEgress.Netns.NetworkNamespace.Open(client.Netns.Path);
        using var denied = podNamespace.Run(() => EchoClient.Connect(ExternalV4, 7000));
        using var allowed = podNamespace.Run(() => EchoClient.Connect(ExternalV4, 7001));
        Assert.True(EchoClient.Echoes(denied) && EchoClient.Echoes(allowed));

        var clock = Stopwatch.StartNew();
        Replace(Path.Combine(folder, "policy.yaml"), EchoPolicy(7001));
        Assert.True(agent.WaitForLog("stopped 1 established connection", TimeSpan.FromSeconds(1)), agent.Log);
        output.WriteLine($"denied flow stopped {clock.ElapsedMilliseconds} ms after the edit");
        Assert.False(EchoClient.Echoes(denied));
        Assert.True(EchoClient.Echoes(allowed));
    }

    [KernelFact]
    public void A_killed_and_restarted_agent_leaks_no_denied_packet_and_breaks_no_allowed_flow()
    {
        using var node = new PolicyNode();
        var client = node.AddPod("team-a", "client", new() { ["app"] = "client" });
        node.ServeEcho(node.External, 7001);
        // The external host counts every UDP datagram that reaches it on port 9999 (denied).
        node.CountUdpAtExternal(9999);
        string folder = ManifestFolder(node, EchoPolicy(7001));
        var first = AgentProcess.Start(node.Node, "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir);
        try
        {
            Assert.True(first.WaitUntilServing(TimeSpan.FromSeconds(30)), first.Log);
            using var podNamespace = CniEgress.Netns.NetworkNamespace.Open(client.Netns.Path);
            using var allowed = podNamespace.Run(() => EchoClient.Connect(ExternalV4, 7001));
            using var probe = podNamespace.Run(() => new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp));
            var target = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ExternalV4), 9999);
            int sent = 0, echoes = 0, probes = 0;
            using var stop = new CancellationTokenSource();
            var prober = Task.Run(() =>
            {
                // Denied datagrams every 10 ms, an echo on the allowed connection every 100 ms.
                for (int i = 0; !stop.IsCancellationRequested && i < 2000; i++)
                {
                    probe.SendTo("leak?"u8, target);
                    sent++;
                    if (i % 10 == 0) { probes++; if (EchoClient.Echoes(allowed)) echoes++; }
                    Thread.Sleep(10);
                }
            });
            Thread.Sleep(300);
            first.Kill();
            Thread.Sleep(300); // no agent at all for a while
            using var second = AgentProcess.Start(node.Node, "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir, "--log-json");
            Assert.True(second.WaitUntilServing(TimeSpan.FromSeconds(30)), second.Log);
            Assert.All(second.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.NotNull((string?)System.Text.Json.Nodes.JsonNode.Parse(line)!["msg"]));
            Thread.Sleep(500);
            stop.Cancel();
            prober.Wait(TimeSpan.FromSeconds(10));

            long arrived = node.UdpReceivedAtExternal();
            Assert.True(arrived == 0, $"{sent} denied datagrams sent, {arrived} arrived");
            Assert.True(sent > 50, $"only {sent} probes sent");
            Assert.Equal(probes, echoes); // the allowed flow never broke
            // The new agent adopted the table with a generation switch (a- to b-), not a rewrite in place.
            string chains = node.Node.Exec("nft", "-t", "list", "table", "inet", "cni-egress").Stdout;
            Assert.Contains("chain b-class-0000 ", chains, StringComparison.Ordinal);
            Assert.DoesNotContain("chain a-class-0000 ", chains, StringComparison.Ordinal);
        }
        finally
        {
            first.Dispose();
        }
    }

    private static string EchoPolicy(params int[] ports) => $"""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: echo
          namespace: team-a
        spec:
          podSelector: {"{}"}
          policyTypes: [Egress]
          egress:
          - to:
            - ipBlock:
                cidr: {ExternalV4}/32
            ports:
        {string.Join("\n", ports.Select(p => $"    - port: {p}"))}
        """;

    [Fact]
    public void Run_without_its_required_options_fails_with_a_one_line_error_not_a_stack_trace()
    {
        var outcome = Shell.Run("dotnet", [AgentProcess.Dll, "run"]);
        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("--manifests", outcome.Stderr + outcome.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", outcome.Stderr, StringComparison.Ordinal);
    }

    [KernelFact]
    public void Run_on_a_node_without_nft_fails_with_a_one_line_error_that_names_it()
    {
        using var node = new PolicyNode();
        string folder = ManifestFolder(node, Policy(OtherExternalV4 + "/32"));
        var outcome = Shell.Run("ip", ["netns", "exec", node.Node.Name, "env", "PATH=/nonexistent", AgentProcess.Native,
            "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir, "--status-address", ""]);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("error: could not run nft (package nftables", outcome.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", outcome.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", outcome.Stderr, StringComparison.Ordinal);
    }

    /// <summary>The node's manifest folder, holding the cluster (namespace team-a, its client pod) and one policy.</summary>
    private static string ManifestFolder(PolicyNode node, string policy)
    {
        string folder = Path.Combine(node.StateDir, "manifests");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "cluster.yaml"), Cluster);
        Replace(Path.Combine(folder, "policy.yaml"), policy);
        return folder;
    }

    /// <summary>As configuration tools do: write aside, then rename over (a reader never sees half a file).</summary>
    private static void Replace(string path, string text)
    {
        string temporary = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".tmp");
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
