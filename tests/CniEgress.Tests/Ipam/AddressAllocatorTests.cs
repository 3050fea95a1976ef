using System.Net;
using System.Text.Json;
using CniEgress.CniPlugin.Ipam.Builtin;
using Xunit;

namespace CniEgress.Tests.Ipam;

public class AddressAllocatorTests
{
    private static IpamRangeSet Set(string ranges) =>
        IpamRangeConfigParser.Parse(JsonElement.Parse($$"""{"type": "x", "ranges": {{ranges}}}"""))[0];

    private static HashSet<IPAddress> Used(params string[] addresses) => addresses.Select(IPAddress.Parse).ToHashSet();

    [Fact]
    public void First_allocation_skips_network_and_gateway() =>
        Assert.Equal("10.1.0.2", AddressAllocator.Next(Set("""[[{"subnet": "10.1.0.0/24"}]]"""), Used(), null)!.ToString());

    [Fact]
    public void Round_robin_continues_after_the_last_reserved_and_wraps()
    {
        var set = Set("""[[{"subnet": "10.1.0.0/29"}]]"""); // .2-.6 usable (.1 gateway, .7 broadcast)
        Assert.Equal("10.1.0.5", AddressAllocator.Next(set, Used("10.1.0.2"), IPAddress.Parse("10.1.0.4"))!.ToString());
        Assert.Equal("10.1.0.3", AddressAllocator.Next(set, Used("10.1.0.2"), IPAddress.Parse("10.1.0.6"))!.ToString());
    }

    [Fact]
    public void A_released_address_is_not_reused_at_once()
    {
        var set = Set("""[[{"subnet": "10.1.0.0/24"}]]""");
        // .2 was just released (free) but .3 was the last reserved: the next is .4, not .2.
        Assert.Equal("10.1.0.4", AddressAllocator.Next(set, Used("10.1.0.3"), IPAddress.Parse("10.1.0.3"))!.ToString());
    }

    [Fact]
    public void Moves_across_ranges_of_one_set()
    {
        var set = Set("""[[{"subnet": "10.1.0.0/30"}, {"subnet": "10.2.0.0/30"}]]""");
        Assert.Equal("10.2.0.2", AddressAllocator.Next(set, Used("10.1.0.2"), IPAddress.Parse("10.1.0.2"))!.ToString());
    }

    [Fact]
    public void Probing_a_few_candidates_finds_what_the_full_walk_finds_or_gives_up()
    {
        var set = Set("""[[{"subnet": "10.1.0.0/24"}]]""");
        var used = Used("10.1.0.5", "10.1.0.6", "10.1.0.7");
        var asked = new List<string>();
        bool IsInUse(IPAddress a) { asked.Add(a.ToString()); return used.Contains(a); }

        Assert.Equal("10.1.0.8", AddressAllocator.Next(set, IsInUse, IPAddress.Parse("10.1.0.4"), maxCandidates: 4)!.ToString());
        Assert.Equal(["10.1.0.5", "10.1.0.6", "10.1.0.7", "10.1.0.8"], asked);
        Assert.Equal("10.1.0.8", AddressAllocator.Next(set, used, IPAddress.Parse("10.1.0.4"))!.ToString());

        asked.Clear();
        Assert.Null(AddressAllocator.Next(set, IsInUse, IPAddress.Parse("10.1.0.4"), maxCandidates: 3));
        Assert.Equal(3, asked.Count);
    }

    [Fact]
    public void Exhaustion_returns_null()
    {
        var set = Set("""[[{"subnet": "10.1.0.0/30"}]]""");
        Assert.Null(AddressAllocator.Next(set, Used("10.1.0.2"), null));
    }

    [Fact]
    public void A_gateway_that_is_the_only_remaining_address_is_never_handed_out()
    {
        var set = Set("""[[{"subnet": "10.1.0.0/29", "gateway": "10.1.0.6"}]]""");
        Assert.Null(AddressAllocator.Next(set, Used("10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5"), null));
    }

    [Theory]
    [InlineData("fd00::/127", null)]          // network + gateway: nothing left
    [InlineData("fd00::/126", "fd00::2")]
    [InlineData("10.1.0.0/30", "10.1.0.2")]
    public void Tiny_subnets(string subnet, string? expected)
    {
        IpamRangeSet set;
        try
        {
            set = Set($$"""[[{"subnet": "{{subnet}}"}]]""");
        }
        catch (IpamConfigException) when (expected == null)
        {
            return; // refused at config time is as good as never allocating
        }
        Assert.Equal(expected, AddressAllocator.Next(set, Used(), null)?.ToString());
    }

    [Fact]
    public void Ipv6_slash_64_is_never_enumerated()
    {
        var set = Set("""[[{"subnet": "fd00::/64"}]]""");
        var used = Enumerable.Range(2, 1000).Select(i => IPAddress.Parse($"fd00::{i:x}")).ToHashSet();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("fd00::3ea", AddressAllocator.Next(set, used, null)!.ToString());
        // Near the top of the /64: wraps to the start instead of walking 2^64 addresses.
        Assert.Equal("fd00::3ea", AddressAllocator.Next(set, used, IPAddress.Parse("fd00::ffff:ffff:ffff:ffff"))!.ToString());
        Assert.True(clock.ElapsedMilliseconds < 1000);
    }
}
