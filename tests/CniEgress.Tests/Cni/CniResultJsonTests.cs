using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CniEgress.CniPlugin.Cni;
using CniEgress.Net;
using Xunit;

namespace CniEgress.Tests.Cni;

public class CniResultJsonTests
{
    private static readonly CniResult Sample = new(
        [new CniInterface("cegabc", "ee:ee:ee:ee:ee:ee", null), new CniInterface("eth0", "02:11:22:33:44:55", "/run/netns/p", 1400)],
        [
            new CniIpConfig(InterfaceAddress.Parse("10.244.1.5/32"), IPAddress.Parse("169.254.1.1"), 1),
            new CniIpConfig(InterfaceAddress.Parse("fd00::5/128"), IPAddress.Parse("fe80::1"), 1),
        ],
        [new CniRoute(IPNetwork.Parse("0.0.0.0/0"), IPAddress.Parse("169.254.1.1")), new CniRoute(IPNetwork.Parse("::/0"), IPAddress.Parse("fe80::1"))],
        null);

    private static JsonObject Render(CniResult result, CniVersion version) =>
        JsonNode.Parse(CniJson.ToUtf8(json => CniResultJson.Write(json, result, version)))!.AsObject();

    [Theory]
    [InlineData("0.3.0", true, false)]
    [InlineData("0.3.1", true, false)]
    [InlineData("0.4.0", true, false)]
    [InlineData("1.0.0", false, false)]
    [InlineData("1.1.0", false, true)]
    public void Renders_the_shape_of_each_version(string version, bool ipVersionField, bool mtuField)
    {
        var json = Render(Sample, CniVersion.Parse(version));
        Assert.Equal(version, (string)json["cniVersion"]!);
        var ip = json["ips"]![0]!.AsObject();
        Assert.Equal(ipVersionField, ip.ContainsKey("version"));
        if (ipVersionField) Assert.Equal("4", (string)ip["version"]!);
        Assert.Equal(mtuField, json["interfaces"]![1]!.AsObject().ContainsKey("mtu"));
        // containerd rejects a result whose IPs do not point at the container interface.
        Assert.Equal(1, (int)ip["interface"]!);
        Assert.Equal("/run/netns/p", (string)json["interfaces"]![1]!["sandbox"]!);
    }

    [Fact]
    public void Golden_1_1_0_result()
    {
        string expected = """{"cniVersion":"1.1.0","interfaces":[{"name":"cegabc","mac":"ee:ee:ee:ee:ee:ee"},{"name":"eth0","mac":"02:11:22:33:44:55","mtu":1400,"sandbox":"/run/netns/p"}],"ips":[{"address":"10.244.1.5/32","gateway":"169.254.1.1","interface":1},{"address":"fd00::5/128","gateway":"fe80::1","interface":1}],"routes":[{"dst":"0.0.0.0/0","gw":"169.254.1.1"},{"dst":"::/0","gw":"fe80::1"}],"dns":{}}""";
        Assert.Equal(expected, Render(Sample, CniVersion.V1_1_0).ToJsonString());
    }

    [Theory]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void Round_trips(string version)
    {
        var rendered = Render(Sample, CniVersion.Parse(version));
        var parsed = CniResultJson.Parse(JsonElement.Parse(rendered.ToJsonString()), "result");
        Assert.Equal(Sample.Ips, parsed.Ips);
        Assert.Equal(Sample.Routes, parsed.Routes);
        Assert.Equal(Sample.Interfaces.Select(i => i.Name), parsed.Interfaces.Select(i => i.Name));
    }

    [Fact]
    public void Parses_a_host_local_0_3_1_result()
    {
        var json = JsonElement.Parse("""
            {"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.22.0.2/16","gateway":"10.22.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}
            """);
        var result = CniResultJson.Parse(json, "ipam result");
        Assert.Equal("10.22.0.2/16", result.Ips[0].Address.ToString());
        Assert.Null(result.Ips[0].InterfaceIndex);
    }

    [Theory]
    [InlineData("""{"ips":[{"address":"10.1.0.5"}]}""", "ips[0].address")]
    [InlineData("""{"ips":[{"address":"10.1.0.5/32","gateway":"x"}]}""", "ips[0].gateway")]
    [InlineData("""{"ips":{}}""", "ips")]
    [InlineData("""{"routes":[{"dst":"nope"}]}""", "routes[0].dst")]
    [InlineData("""{"interfaces":[{"mac":"aa"}]}""", "interfaces[0].name")]
    public void Malformed_results_are_code_6_naming_the_field(string json, string field)
    {
        var error = Assert.Throws<CniException>(() => CniResultJson.Parse(JsonElement.Parse(json), "prevResult"));
        Assert.Equal(6, error.Code);
        Assert.Contains("prevResult." + field, error.Message, StringComparison.Ordinal);
    }
}
