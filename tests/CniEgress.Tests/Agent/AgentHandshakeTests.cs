using System.Globalization;
using CniEgress.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static CniEgress.Tests.Infrastructure.PolicyNode;

namespace CniEgress.Tests.Agent;

/// <summary>ADD returns only once the agent has the pod's policy in the kernel: pods under a
/// deny-all policy that send the moment their ADD returns leak nothing; without an agent, ADD
/// fails with "try again later" and leaves nothing behind (unless best-effort was chosen).</summary>
public class AgentHandshakeTests(ITestOutputHelper output)
{
    private const string Manifests = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: locked}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: open}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny-all-egress, namespace: locked}
        spec:
          podSelector: {}
          policyTypes: [Egress]
        """;

    [KernelFact]
    public void Without_an_agent_ADD_fails_with_try_again_later_and_leaves_nothing_unless_best_effort()
    {
        using var node = new PolicyNode();
        using var pod = new PodNamespace();
        var refused = node.RunPlugin("ADD", pod, "locked", "p", policyAgent: "required");
        Assert.Equal(1, refused.ExitCode);
        var error = System.Text.Json.Nodes.JsonNode.Parse(refused.Stdout)!;
        Assert.Equal(11, (int)error["code"]!);
        Assert.Contains("agent.sock", (string)error["msg"]!, StringComparison.Ordinal);
        Assert.DoesNotContain("ceg", node.Node.Exec("ip", "-o", "link").Stdout, StringComparison.Ordinal); // the veth was undone
        Assert.Empty(Directory.Exists(Path.Combine(node.StateDir, "attachments")) ? Directory.GetFiles(Path.Combine(node.StateDir, "attachments")) : []);

        var started = node.RunPlugin("ADD", pod, "locked", "p", policyAgent: "best-effort");
        Assert.True(started.ExitCode == 0, started.Stdout + started.Stderr);
    }

    [KernelFact]
    public void Pods_that_send_the_instant_ADD_returns_leak_nothing_over_200_starts()
    {
        using var node = new PolicyNode();
        // The external host counts every UDP datagram that reaches it on port 9999.
        node.CountUdpAtExternal(9999);
        using var agent = ServingAgent(node);

        // Control: a pod of a namespace without policies does get through.
        var control = node.AddPod("open", "control", policyAgent: "required");
        Send(control.Netns);
        Assert.True(Wait.Until(() => node.UdpReceivedAtExternal() >= 3, TimeSpan.FromSeconds(5)), $"the probe reaches the external host ({node.UdpReceivedAtExternal()})");

        var latencies = new List<double>();
        var pods = new List<PodNamespace>();
        try
        {
            for (int i = 0; i < 200; i++)
            {
                var pod = new PodNamespace();
                pods.Add(pod);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var add = node.RunPlugin("ADD", pod, "locked", "p" + i.ToString(CultureInfo.InvariantCulture), policyAgent: "required");
                latencies.Add(clock.Elapsed.TotalMilliseconds);
                Assert.True(add.ExitCode == 0, add.Stdout + add.Stderr + "\n" + agent.Log);
                Send(pod);
            }
            Thread.Sleep(200); // anything in flight lands
            Assert.Equal(3, node.UdpReceivedAtExternal());
            latencies.Sort();
            output.WriteLine($"ADD with the agent handshake, 200 pods: median {latencies[100]:0.0} ms, p90 {latencies[180]:0.0} ms (including `ip netns exec`)");
        }
        finally
        {
            foreach (var pod in pods)
            {
                node.RunPlugin("DEL", pod, "locked", "p");
                pod.Dispose();
            }
        }
    }

    [KernelFact]
    public void DEL_has_a_serving_agent_delete_the_host_veth_and_deletes_it_itself_when_there_is_none()
    {
        using var node = new PolicyNode();
        var withAgent = node.AddPod("open", "with-agent");
        var withoutAgent = node.AddPod("open", "without-agent");

        using (var agent = ServingAgent(node))
        {
            var del = node.RunPlugin("DEL", withAgent.Netns, "open", "with-agent", policyAgent: "required");
            Assert.True(del.ExitCode == 0, del.Stdout + del.Stderr + "\n" + agent.Log);
            AssertUnwired(node, withAgent);
            Assert.Contains("egress_agent_host_link_deletions_total 1\n", node.AgentStatus("/metrics"), StringComparison.Ordinal);
        }

        // The agent is gone: DEL deletes the veth itself, "required" or not.
        var alone = node.RunPlugin("DEL", withoutAgent.Netns, "open", "without-agent", policyAgent: "required");
        Assert.True(alone.ExitCode == 0, alone.Stdout + alone.Stderr);
        AssertUnwired(node, withoutAgent);
    }

    [KernelFact]
    public void DEL_deletes_the_veth_itself_when_the_agent_hangs_up_without_an_answer()
    {
        using var node = new PolicyNode();
        var pod = node.AddPod("open", "p");
        // Something listens on the agent's socket, reads the request and closes: no answer.
        using var mute = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        mute.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(node.StateDir, "agent.sock")));
        mute.Listen(1);
        string? request = null;
        var listener = new Thread(() =>
        {
            using var client = mute.Accept();
            var buffer = new byte[512];
            request = System.Text.Encoding.ASCII.GetString(buffer, 0, client.Receive(buffer));
        }) { IsBackground = true };
        listener.Start();

        var del = node.RunPlugin("DEL", pod.Netns, "open", "p", policyAgent: "required");

        Assert.True(del.ExitCode == 0, del.Stdout + del.Stderr);
        Assert.True(listener.Join(TimeSpan.FromSeconds(5)), "the plugin never connected");
        Assert.Equal($"{{\"deleteLink\":\"{pod.HostInterface}\"}}\n", request);
        AssertUnwired(node, pod);
    }

    [KernelFact]
    public void Forty_concurrent_DELs_through_the_agent_leave_no_link_behind()
    {
        using var node = new PolicyNode();
        var pods = Enumerable.Range(0, 40).Select(i => node.AddPod("open", "p" + i.ToString(CultureInfo.InvariantCulture))).ToList();
        using var agent = ServingAgent(node);

        var dels = new Processes.ProcessRunner.Outcome[pods.Count];
        Plugin.ConcurrencyTests.AllAtOnce(pods.Count, i => dels[i] = node.RunPlugin("DEL", pods[i].Netns, "open", "p" + i.ToString(CultureInfo.InvariantCulture), policyAgent: "required"));

        Assert.All(dels, d => Assert.True(d.ExitCode == 0, d.Stdout + d.Stderr));
        Assert.DoesNotContain("ceg", node.Node.Exec("ip", "-o", "link").Stdout, StringComparison.Ordinal);
        foreach (var pod in pods) AssertUnwired(node, pod);
        Assert.Contains("egress_agent_host_link_deletions_total 40\n", node.AgentStatus("/metrics"), StringComparison.Ordinal);
    }

    /// <summary>The agent on <see cref="Manifests"/>, serving its socket.</summary>
    private static AgentProcess ServingAgent(PolicyNode node)
    {
        string folder = Path.Combine(node.StateDir, "manifests");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "cluster.yaml"), Manifests);
        var agent = AgentProcess.Start(node.Node, "run", "--manifests", folder, "--node-name", "node-1", "--state-dir", node.StateDir);
        if (agent.WaitUntilServing(TimeSpan.FromSeconds(30))) return agent;
        string log = agent.Log;
        agent.Dispose();
        throw new Xunit.Sdk.XunitException("the agent did not start serving: " + log);
    }

    /// <summary>What a DEL leaves must be nothing: no host veth, pod end or host route.</summary>
    private static void AssertUnwired(PolicyNode node, PolicyNode.Pod pod)
    {
        Assert.DoesNotContain(pod.HostInterface, node.Node.Exec("ip", "-o", "link").Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("eth0", pod.Netns.Exec("ip", "-o", "link").Stdout, StringComparison.Ordinal);
        Assert.Equal("", node.Node.Exec("ip", "route", "show", pod.V4).Stdout.Trim());
        Assert.Equal("", node.Node.Exec("ip", "-6", "route", "show", pod.V6).Stdout.Trim());
    }

    private static void Send(PodNamespace pod) =>
        pod.Exec("bash", "-c", $"for k in 1 2 3; do echo leak > /dev/udp/{ExternalV4}/9999; done");
}
