using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

/// <summary>Every malformed input gets spec error JSON on stdout, a non-zero exit, no stack
/// trace, and leaves no link, address or record behind.</summary>
public class MalformedInputTests
{
    private static void AssertError(CniPluginProcess.Response response, int code, string? mentions = null)
    {
        Assert.NotEqual(0, response.ExitCode);
        var json = response.Json;
        Assert.Equal(code, (int)json["code"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)json["msg"]));
        Assert.NotNull(json["cniVersion"]);
        Assert.DoesNotContain("   at ", response.Stdout + response.Stderr, StringComparison.Ordinal);
        if (mentions != null) Assert.Contains(mentions, (string)json["msg"]!, StringComparison.Ordinal);
    }

    private static void AssertNothingLeft(TestNetwork network, string containerId = "bad")
    {
        Assert.Empty(network.StateFiles());
        Assert.DoesNotContain(HostLinks.OurVeths(), l => l == CniEgress.CniPlugin.Wiring.HostInterfaceName.For(containerId, "eth0"));
    }

    [KernelTheory]
    [InlineData("not json", 6, null)]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"type\":\"cni-egress\",\"ipam\":{\"type\":\"cni-egress\"}}", 7, "name")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"cni-egress\"}}", 7, "type")]
    [InlineData("{\"name\":\"n\",\"type\":\"cni-egress\",\"ipam\":{\"type\":\"cni-egress\"}}", 7, "cniVersion")]
    [InlineData("{\"cniVersion\":\"0.1.0\",\"name\":\"n\",\"type\":\"cni-egress\",\"ipam\":{\"type\":\"cni-egress\"}}", 1, "0.1.0")]
    public void Bad_configs(string config, int code, string? mentions)
    {
        using var pod = new PodNamespace();
        AssertError(CniPluginProcess.Invoke("ADD", config, "bad", pod.Path), code, mentions);
    }

    [KernelTheory]
    [InlineData("[[{\"subnet\": \"10.9.0.0/33\"}]]", "subnet")]
    [InlineData("[[{\"subnet\": \"10.9.0.0/24\"}], [{\"subnet\": \"10.9.0.128/25\"}]]", "overlap")]
    [InlineData("[[{\"subnet\": \"10.9.0.0/24\", \"rangeStart\": \"10.9.1.5\"}]]", "rangeStart")]
    public void Bad_or_overlapping_subnets_are_code_7(string ranges, string mentions)
    {
        var network = new TestNetwork();
        using var pod = new PodNamespace();
        string config = network.With(j => j["ipam"]!["ranges"] = System.Text.Json.Nodes.JsonNode.Parse(ranges));
        AssertError(CniPluginProcess.Invoke("ADD", config, "bad", pod.Path), 7, mentions);
        AssertNothingLeft(network);
    }

    [KernelFact]
    public void Bad_environment()
    {
        var network = new TestNetwork();
        using var pod = new PodNamespace();
        AssertError(CniPluginProcess.Invoke("", network.Config, "bad", pod.Path), 4, "CNI_COMMAND");
        AssertError(CniPluginProcess.Invoke("ADD", network.Config, "", pod.Path), 4, "CNI_CONTAINERID");
        AssertError(CniPluginProcess.Invoke("ADD", network.Config, "bad", ""), 4, "CNI_NETNS");
        AssertError(CniPluginProcess.Invoke("ADD", network.Config, "bad", pod.Path, ifname: ""), 4, "CNI_IFNAME");
        AssertError(CniPluginProcess.Invoke("ADD", network.Config, "bad", pod.Path, ifname: "averyveryverylongname"), 4, "CNI_IFNAME");
        AssertError(CniPluginProcess.Invoke("ADD", network.Config, "bad", "/run/netns/does-not-exist"), 3, "does-not-exist");
        string notNetns = Path.GetTempFileName();
        AssertError(CniPluginProcess.Invoke("ADD", network.Config, "bad", notNetns), 4, "not a network namespace");
        File.Delete(notNetns);
        AssertNothingLeft(network);
    }

    [Fact]
    public void A_closed_stdout_is_a_plain_failure_not_a_crash()
    {
        // A runtime always gives a pipe; without one there is nobody to answer, but still no abort.
        var outcome = Shell.Run("sh", "-c", $"CNI_COMMAND=VERSION exec '{CniPluginProcess.Binary}' </dev/null >&-");
        Assert.Equal(1, outcome.ExitCode);
        Assert.Equal("", outcome.Stderr);
    }

    [Fact]
    public void A_closed_stdin_is_an_io_error_in_the_spec_shape()
    {
        var outcome = Shell.Run("sh", "-c", $"CNI_COMMAND=VERSION exec '{CniPluginProcess.Binary}' <&-");
        Assert.Equal(1, outcome.ExitCode);
        Assert.Equal("", outcome.Stderr);
        var error = System.Text.Json.Nodes.JsonNode.Parse(outcome.Stdout)!;
        Assert.Equal(5, (int)error["code"]!);
        Assert.Contains("network config could not be read", (string)error["msg"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_over_16_MiB_is_refused_with_code_7_before_anything_else()
    {
        // The GC reserves only 4 GB for a call (see the plugin's project file); a runaway writer
        // on stdin gets the spec's error, not an out-of-memory failure.
        string config = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"cni-egress\",\"pad\":\"" + new string('x', 16 * 1024 * 1024) + "\"}";
        AssertError(CniPluginProcess.Invoke("ADD", config, "bad", "/run/netns/unused"), 7, "larger than 16 MiB");
    }

    [KernelFact]
    public void A_config_just_under_the_cap_and_dense_with_tokens_still_wires_a_pod()
    {
        // The densest JSON there is (a one-digit array element per two bytes) makes the parser's
        // row table as large as it gets: the whole ADD must still fit the GC's reserved range.
        var network = new TestNetwork();
        using var pod = new PodNamespace();
        string config = network.Config;
        var dense = new System.Text.StringBuilder(16 * 1024 * 1024);
        dense.Append(config.AsSpan(0, config.Length - 1)).Append(",\"dense\":[0");
        while (dense.Length < 16 * 1024 * 1024 - 16) dense.Append(",0");
        dense.Append("]}");
        var added = CniPluginProcess.Invoke("ADD", dense.ToString(), "dense", pod.Path);
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.NotEmpty(added.Json["ips"]!.AsArray());
        Assert.Equal(0, CniPluginProcess.Invoke("DEL", dense.ToString(), "dense", pod.Path).ExitCode);
        AssertNothingLeft(network, "dense");
    }

    [Fact]
    public void Output_to_a_file_shared_with_the_caller_leaves_the_file_offset_after_it()
    {
        // A caller that redirects several commands into one file expects each to continue where
        // the last stopped: our JSON, then the caller's own line, neither over the other.
        string file = Path.GetTempFileName();
        try
        {
            var outcome = Shell.Run("sh", "-c", $"{{ echo before; CNI_COMMAND=VERSION '{CniPluginProcess.Binary}' </dev/null; echo after; }} > '{file}'");
            Assert.Equal(0, outcome.ExitCode);
            string[] parts = File.ReadAllText(file).Split('\n', 2);
            Assert.Equal("before", parts[0]);
            Assert.EndsWith("}\nafter\n", parts[1], StringComparison.Ordinal);
            Assert.Equal("1.1.0", (string?)System.Text.Json.Nodes.JsonNode.Parse(parts[1][..^"after\n".Length])!["cniVersion"]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [KernelFact]
    public void Interface_already_present_in_the_pod_is_refused_and_releases_the_address()
    {
        var network = new TestNetwork();
        using var pod = new PodNamespace();
        Shell.Ok("ip", "-n", pod.Name, "link", "add", "eth0", "type", "veth", "peer", "name", "other0");
        AssertError(network.Add(pod, "bad"), 102, "eth0");
        AssertNothingLeft(network);
    }

    [KernelFact]
    public void Missing_ipam_plugin_is_reported_and_leaves_nothing()
    {
        var network = new TestNetwork(ipamType: "no-such-ipam");
        using var pod = new PodNamespace();
        AssertError(network.Add(pod, "bad"), 4, "no-such-ipam");
        AssertNothingLeft(network);
    }
}
