using System.Text.Json;
using CniEgress.CniPlugin.Ipam.Builtin;
using Xunit;

namespace CniEgress.Tests.Ipam;

public class IpamRangeConfigParserTests
{
    private static IReadOnlyList<IpamRangeSet> Parse(string ranges) =>
        IpamRangeConfigParser.Parse(JsonElement.Parse($$"""{"type": "x", "ranges": {{ranges}}}"""));

    private static string Error(string ranges) => Assert.Throws<IpamConfigException>(() => Parse(ranges)).Message;

    [Fact]
    public void Defaults_skip_network_gateway_and_broadcast()
    {
        var range = Parse("""[[{"subnet": "10.1.0.0/24"}]]""")[0].Ranges[0];
        Assert.Equal("10.1.0.1-10.1.0.254 in 10.1.0.0/24", range.ToString());
        Assert.Equal("10.1.0.1", range.Gateway.ToString());
    }

    [Fact]
    public void Dual_stack_is_two_range_sets()
    {
        var sets = Parse("""[[{"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.10", "rangeEnd": "10.1.0.20", "gateway": "10.1.0.254"}], [{"subnet": "fd00::/64"}]]""");
        Assert.Equal(2, sets.Count);
        Assert.Equal("10.1.0.10-10.1.0.20 in 10.1.0.0/24", sets[0].Ranges[0].ToString());
        Assert.True(sets[1].IsIPv6);
        Assert.Equal("fd00::1-fd00::ffff:ffff:ffff:ffff in fd00::/64", sets[1].Ranges[0].ToString());
    }

    [Fact]
    public void Legacy_single_range_form_is_accepted()
    {
        var sets = IpamRangeConfigParser.Parse(JsonElement.Parse("""{"type": "cni-egress", "subnet": "10.2.0.0/16"}"""));
        Assert.Single(sets);
    }

    [Theory]
    [InlineData("""[[{"subnet": "10.1.0.0/33"}]]""", "ipam.ranges[0][0].subnet '10.1.0.0/33'")]
    [InlineData("""[[{"subnet": "10.1.0.1/24"}]]""", "host bits")]
    [InlineData("""[[{}]]""", "ipam.ranges[0][0].subnet is required")]
    [InlineData("""[[{"subnet": "10.1.0.0/24", "rangeStart": "10.2.0.5"}]]""", "ipam.ranges[0][0].rangeStart 10.2.0.5 is outside subnet 10.1.0.0/24")]
    [InlineData("""[[{"subnet": "10.1.0.0/24", "rangeEnd": "fd00::1"}]]""", "ipam.ranges[0][0].rangeEnd 'fd00::1' is not an IPv4 address")]
    [InlineData("""[[{"subnet": "10.1.0.0/24", "gateway": "10.9.9.9"}]]""", "gateway 10.9.9.9 is outside")]
    [InlineData("""[[{"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.50", "rangeEnd": "10.1.0.40"}]]""", "rangeStart is after rangeEnd")]
    [InlineData("""[[{"subnet": "10.1.0.0/32"}]]""", "too small")]
    [InlineData("""[[{"subnet": "10.1.0.0/31"}]]""", "too small")]
    [InlineData("""[[{"subnet": "10.1.0.0/24"}, {"subnet": "fd00::/64"}]]""", "mixes IPv4 and IPv6")]
    [InlineData("""[[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.1.0.128/25"}]]""", "overlap")]
    [InlineData("""[[{"subnet": "10.1.0.0/24", "rangeEnd": "10.1.0.100"}, {"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.100"}]]""", "overlap")]
    [InlineData("""[]""", "ipam.ranges is empty")]
    [InlineData("""[[]]""", "ipam.ranges[0] is empty")]
    [InlineData("""{}""", "must be an array")]
    [InlineData("""[[{"subnet": 5}]]""", "subnet must be a string")]
    public void Each_problem_names_its_key(string ranges, string message) =>
        Assert.Contains(message, Error(ranges), StringComparison.Ordinal);

    [Fact]
    public void Adjacent_ranges_do_not_overlap() =>
        Assert.Equal(2, Parse("""[[{"subnet": "10.1.0.0/25"}, {"subnet": "10.1.0.128/25"}]]""")[0].Ranges.Count);
}
