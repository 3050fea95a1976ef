using System.Net;
using CniEgress.Net;
using Xunit;

namespace CniEgress.Tests.Policy;

public class AddressRangeTests
{
    private static AddressRange R(string cidr) => AddressRange.Of(InterfaceAddress.Parse(cidr).Network);

    [Fact]
    public void Cidr_minus_excepts_leaves_the_pieces_around_them()
    {
        var pieces = R("10.0.0.0/24").Subtract([R("10.0.0.0/28"), R("10.0.0.128/25")]);
        Assert.Equal(["10.0.0.16-10.0.0.127"], pieces.Select(p => p.ToString()));
    }

    [Fact]
    public void Subtracting_the_middle_splits_and_the_whole_empties()
    {
        Assert.Equal(["10.0.0.0/25", "10.0.0.129-10.0.0.255"], R("10.0.0.0/24").Subtract([R("10.0.0.128/32")]).Select(p => p.ToString()));
        Assert.Empty(R("10.0.0.0/24").Subtract([R("10.0.0.0/16")]));
    }

    [Fact]
    public void Zero_prefix_covers_the_family_and_prints_as_cidr()
    {
        Assert.Equal("0.0.0.0/0", R("0.0.0.0/0").ToString());
        Assert.Equal("::/0", R("::/0").ToString());
        Assert.Equal(AddressRange.All(true), R("::/0"));
        Assert.True(R("0.0.0.0/0").Contains(IPAddress.Parse("203.0.113.9")));
        Assert.False(R("0.0.0.0/0").Contains(IPAddress.Parse("2001:db8::1")));
        Assert.Equal(["::/0"], R("::/0").Subtract([]).Select(p => p.ToString()));
        Assert.Equal(["::/1"], R("::/0").Subtract([R("8000::/1")]).Select(p => p.ToString()));
    }

    [Fact]
    public void Merge_joins_touching_and_overlapping_ranges_per_family()
    {
        var merged = AddressRange.Merge([R("10.0.1.0/24"), R("10.0.0.0/24"), R("10.0.0.128/25"), R("fd00::/64"), R("10.0.3.0/24")]);
        Assert.Equal(["10.0.0.0/23", "10.0.3.0/24", "fd00::/64"], merged.Select(m => m.ToString()));
    }
}
