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

    [Theory]
    [InlineData("10.1.0.5/24")]
    [InlineData("fd00::1:2/64")]
    [InlineData("fe80::1/128")]
    public void Formats_as_it_parses_alone_and_inside_an_interpolation(string text)
    {
        var address = InterfaceAddress.Parse(text);
        Assert.Equal(text, address.ToString());
        Assert.Equal($"[{text}]", $"[{address}]");
    }

    [Fact]
    public void TryFormat_refuses_a_buffer_too_small()
    {
        var address = InterfaceAddress.Parse("192.0.2.7/32");
        Assert.False(address.TryFormat(new char[11], out _, default, null));
        Assert.True(address.TryFormat(new char[12], out int written, default, null));
        Assert.Equal(12, written);
    }
}
