using CniEgress.CniPlugin.Wiring;
using Xunit;

namespace CniEgress.Tests.Cni;

public class HostInterfaceNameTests
{
    [Fact]
    public void Names_are_15_characters_with_our_prefix_and_deterministic()
    {
        string name = HostInterfaceName.For("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "eth0");
        Assert.Equal(15, name.Length);
        Assert.StartsWith(HostInterfaceName.Prefix, name, StringComparison.Ordinal);
        Assert.Equal(name, HostInterfaceName.For("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "eth0"));
        Assert.True(HostInterfaceName.IsOurs(name));
        Assert.False(HostInterfaceName.IsOurs("eth0"));
    }

    [Fact]
    public void Different_attachments_get_different_names()
    {
        var names = Enumerable.Range(0, 10_000).Select(i => HostInterfaceName.For($"container-{i}", "eth0"))
            .Concat([HostInterfaceName.For("container-0", "net1")]);
        Assert.Equal(10_001, names.Distinct().Count());
    }

    [Fact]
    public void Pod_macs_are_locally_administered_unicast()
    {
        byte first = LinkAddresses.PodMac("c1", "eth0").GetAddressBytes()[0];
        Assert.Equal(0x02, first & 0x03);
    }
}
