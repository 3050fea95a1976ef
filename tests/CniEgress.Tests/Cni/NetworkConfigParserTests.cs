using System.Text;
using System.Text.Json;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;
using Xunit;

namespace CniEgress.Tests.Cni;

public class NetworkConfigParserTests
{
    public const string Minimal = """
        {"cniVersion": "1.1.0", "name": "pods", "type": "cni-egress",
         "ipam": {"type": "cni-egress", "ranges": [[{"subnet": "10.244.1.0/24"}]]}}
        """;

    private static NetworkConfig Parse(string json) => NetworkConfigParser.Parse(Encoding.UTF8.GetBytes(json));

    private static CniException Error(string json) => Assert.Throws<CniException>(() => Parse(json));

    [Theory]
    [InlineData("0.3.0")]
    [InlineData("0.3.1")]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void Every_supported_version_parses(string version)
    {
        var config = Parse(Minimal.Replace("1.1.0", version));
        Assert.Equal(version, config.Version.ToString());
        Assert.Equal(("pods", "cni-egress"), (config.Name, config.Type));
        Assert.True(config.UsesBuiltinIpam);
        Assert.Equal(NetworkConfig.DefaultStateDir, config.StateDir);
        Assert.False(config.IpMasq);
    }

    [Fact]
    public void Every_documented_key_is_read()
    {
        var config = Parse("""
            {"cniVersion": "1.0.0", "name": "k8s", "type": "cni-egress", "mtu": 1400, "ipMasq": true,
             "clusterCIDRs": ["10.244.0.0/16", "fd00:10:244::/56"], "stateDir": "/tmp/s", "logFile": "/tmp/l",
             "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.1.0/24"}]]},
             "capabilities": {"portMappings": true}, "runtimeConfig": {"portMappings": []}, "someVendorKey": 7}
            """);
        Assert.Equal(1400, config.Mtu);
        Assert.True(config.IpMasq);
        Assert.Equal(["10.244.0.0/16", "fd00:10:244::/56"], config.ClusterCidrs.Select(c => c.ToString()));
        Assert.Equal(("/tmp/s", "/tmp/l", "host-local"), (config.StateDir, config.LogFile, config.IpamType));
        Assert.False(config.UsesBuiltinIpam);
        // Unknown keys, capabilities and runtimeConfig survive for delegation.
        Assert.Equal(7, config.Raw.GetProperty("someVendorKey").GetInt32());
        Assert.Equal(JsonValueKind.Object, config.Raw.GetProperty("runtimeConfig").ValueKind);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("{\"cniVersion\": \"1.0.0\", ")]
    [InlineData("")]
    public void Undecodable_input_is_code_6(string json) => Assert.Equal(6, Error(json).Code);

    [Theory]
    [InlineData("0.2.0")]
    [InlineData("2.0.0")]
    [InlineData("one")]
    public void Unsupported_version_is_code_1(string version)
    {
        var error = Error(Minimal.Replace("1.1.0", version));
        Assert.Equal(1, error.Code);
        Assert.Contains("1.1.0", error.Details, StringComparison.Ordinal);
    }

    [Fact]
    public void CniVersions_picks_the_newest_shared_version()
    {
        var config = Parse(Minimal.Replace("\"cniVersion\": \"1.1.0\"", "\"cniVersions\": [\"0.4.0\", \"1.0.0\", \"9.9.9\"]"));
        Assert.Equal(CniVersion.V1_0_0, config.Version);
    }

    [Theory]
    [InlineData("\"cniVersion\": \"1.1.0\",", "", "cniVersion")]
    [InlineData("\"name\": \"pods\",", "", "name")]
    [InlineData("\"type\": \"cni-egress\",", "", "type")]
    [InlineData("\"name\": \"pods\"", "\"name\": \"-bad name\"", "name")]
    [InlineData("\"name\": \"pods\"", "\"name\": 5", "name")]
    [InlineData("\"type\": \"cni-egress\",\n \"ipam\"", "\"type\": \"cni-egress\", \"mtu\": 20, \"ipam\"", "mtu")]
    [InlineData("\"type\": \"cni-egress\",\n \"ipam\"", "\"type\": \"cni-egress\", \"ipMasq\": \"yes\", \"ipam\"", "ipMasq")]
    [InlineData("\"type\": \"cni-egress\",\n \"ipam\"", "\"type\": \"cni-egress\", \"clusterCIDRs\": [\"10.0.0.1/8\"], \"ipam\"", "clusterCIDRs[0]")]
    [InlineData("\"type\": \"cni-egress\",\n \"ipam\"", "\"type\": \"cni-egress\", \"prevResult\": [], \"ipam\"", "prevResult")]
    [InlineData("{\"type\": \"cni-egress\",", "{", "ipam.type")]
    [InlineData("{\"type\": \"cni-egress\",", "{\"type\": \"../x\",", "ipam.type")]
    public void Bad_keys_are_code_7_and_named(string from, string to, string key)
    {
        string json = Minimal.Replace(from, to);
        Assert.NotEqual(Minimal, json);
        var error = Error(json);
        Assert.Equal(7, error.Code);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_explicit_null_is_an_absent_key()
    {
        var config = Parse(Minimal.Replace("\"type\": \"cni-egress\",\n", "\"type\": \"cni-egress\", \"mtu\": null, \"ipMasq\": null, \"prevResult\": null, \"logFile\": null,\n"));
        Assert.Equal((null, false, null, null), (config.Mtu, config.IpMasq, config.PrevResult, config.LogFile));
        var error = Error("""{"cniVersion": "1.0.0", "name": "n", "type": "cni-egress", "ipam": null}""");
        Assert.Contains("ipam is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_ipam_is_code_7() =>
        Assert.Equal(7, Error("""{"cniVersion": "1.0.0", "name": "n", "type": "cni-egress"}""").Code);

    [Fact]
    public void PrevResult_and_valid_attachments_are_parsed()
    {
        var config = Parse("""
            {"cniVersion": "1.1.0", "name": "n", "type": "cni-egress", "ipam": {"type": "host-local"},
             "cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"}],
             "prevResult": {"cniVersion": "1.1.0", "interfaces": [{"name": "eth0", "sandbox": "/run/netns/p"}],
               "ips": [{"address": "10.1.0.5/32", "gateway": "169.254.1.1", "interface": 0}], "routes": [{"dst": "0.0.0.0/0", "gw": "169.254.1.1"}]}}
            """);
        Assert.Equal("10.1.0.5/32", config.PrevResult!.Ips[0].Address.ToString());
        Assert.Equal(new AttachmentKey("c1", "eth0"), config.ValidAttachments![0]);
    }
}
