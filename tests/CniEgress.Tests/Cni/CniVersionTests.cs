using CniEgress.CniPlugin.Cni;
using Xunit;

namespace CniEgress.Tests.Cni;

public class CniVersionTests
{
    [Theory]
    [InlineData("0.3.0", true)]
    [InlineData("0.3.1", true)]
    [InlineData("0.4.0", true)]
    [InlineData("1.0.0", true)]
    [InlineData("1.1.0", true)]
    [InlineData("0.2.0", false)]
    [InlineData("1.2.0", false)]
    [InlineData("0.3.2", false)]
    [InlineData("10.0.0", false)]
    public void Supported_versions(string text, bool supported)
    {
        Assert.True(CniVersion.TryParse(text, out var version));
        Assert.Equal(supported, version.IsSupported);
        Assert.Equal(text, version.ToString());
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("v1.0.0")]
    [InlineData("1.0.0.0")]
    [InlineData("")]
    [InlineData("1..0")]
    [InlineData("1.0.")]
    [InlineData(".1.0")]
    [InlineData("1.0.0 ")]
    [InlineData("+1.0.0")]
    [InlineData("1.-1.0")]
    [InlineData("1.0.x")]
    [InlineData("1.0.1234567890")]
    public void Malformed_versions_do_not_parse(string text) => Assert.False(CniVersion.TryParse(text, out _));

    [Fact]
    public void Ordering_is_numeric() => Assert.True(CniVersion.Parse("0.10.0") > CniVersion.V0_4_0);
}
