using CniEgress.Net;
using Xunit;

namespace CniEgress.Tests.Infrastructure;

public class InterfaceAddressTests
{
    [Theory]
    [InlineData("10.1.0.5/24", "10.1.0.0/24")]
    [InlineData("fd00::1:2/64", "fd00::/64")]
    [InlineData("192.0.2.7/32", "192.0.2.7/32")]
    public void Network_masks_host_bits(string text, string network) =>
        Assert.Equal(network, InterfaceAddress.Parse(text).Network.ToString());

    [Theory]
    [InlineData("10.1.0.5")]
    [InlineData("10.1.0.5/33")]
    [InlineData("/24")]
    [InlineData("fd00::1/129")]
    [InlineData("10.1.0.5/-1")]
    [InlineData("10.1.0.5/ 4")]
    public void TryParse_rejects_malformed(string text) =>
        Assert.False(InterfaceAddress.TryParse(text, out _));
}
