using System.Net;
using System.Text.Json;
using CniEgress.CniPlugin.Ipam.Builtin;
using Xunit;

namespace CniEgress.Tests.Ipam;

/// <summary>The store on a real (temporary) directory; no root needed.</summary>
public sealed class BuiltinIpamTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("ipam").FullName;

    private BuiltinIpam Ipam(string ranges = """[[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00::/64"}]]""") =>
        new(IpamRangeConfigParser.Parse(JsonElement.Parse($$"""{"type": "x", "ranges": {{ranges}}}""")), dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Allocates_one_address_per_range_set_with_prefix_and_gateway()
    {
        var addresses = Ipam().Allocate("c1", "eth0");
        Assert.Equal(["10.1.0.2/24", "fd00::2/64"], addresses.Select(a => a.Address.ToString()));
        Assert.Equal(["10.1.0.1", "fd00::1"], addresses.Select(a => a.Gateway.ToString()));
        Assert.Equal("c1\neth0", File.ReadAllText(Path.Combine(dir, "10.1.0.2")));
        Assert.True(File.Exists(Path.Combine(dir, "fd00__2")));
    }

    [Fact]
    public void Same_owner_gets_the_same_addresses_again()
    {
        var ipam = Ipam();
        var first = ipam.Allocate("c1", "eth0");
        ipam.Allocate("c2", "eth0");
        Assert.Equal(first, ipam.Allocate("c1", "eth0"));
        Assert.NotEqual(first, ipam.Allocate("c1", "net1"));
    }

    [Fact]
    public void Half_finished_allocation_is_completed_not_duplicated()
    {
        // A killed ADD claimed both addresses and reserved the IPv4 one, not the IPv6 one.
        Directory.CreateDirectory(Path.Combine(dir, "owners"));
        File.WriteAllText(Path.Combine(dir, "owners", "c1_eth0"), "c1\neth0\n10.1.0.7\nfd00::7");
        File.WriteAllText(Path.Combine(dir, "10.1.0.7"), "c1\neth0");
        var addresses = Ipam().Allocate("c1", "eth0");
        Assert.Equal(["10.1.0.7/24", "fd00::7/64"], addresses.Select(a => a.Address.ToString()));
        Assert.Equal("c1\neth0", File.ReadAllText(Path.Combine(dir, "fd00__7")));
    }

    [Fact]
    public void A_claim_another_owner_took_meanwhile_is_replaced_not_shared()
    {
        // c1 was killed after claiming 10.1.0.7 but before reserving it; c2 then took 10.1.0.7.
        Directory.CreateDirectory(Path.Combine(dir, "owners"));
        File.WriteAllText(Path.Combine(dir, "owners", "c1_eth0"), "c1\neth0\n10.1.0.7");
        File.WriteAllText(Path.Combine(dir, "owners", "c2_eth0"), "c2\neth0\n10.1.0.7");
        File.WriteAllText(Path.Combine(dir, "10.1.0.7"), "c2\neth0");
        var ipam = Ipam("""[[{"subnet": "10.1.0.0/24"}]]""");
        var addresses = ipam.Allocate("c1", "eth0");
        Assert.NotEqual("10.1.0.7/24", addresses[0].Address.ToString());
        ipam.Release("c1", "eth0");
        Assert.Equal("c2\neth0", File.ReadAllText(Path.Combine(dir, "10.1.0.7")));
        Assert.False(File.Exists(Path.Combine(dir, "owners", "c1_eth0")));
    }

    [Fact]
    public void Release_frees_only_that_owner_and_unknown_owners_are_fine()
    {
        var ipam = Ipam();
        ipam.Allocate("c1", "eth0");
        var kept = ipam.Allocate("c2", "eth0");
        ipam.Release("c1", "eth0");
        ipam.Release("never-seen", "eth0");
        var files = Directory.GetFiles(dir).Select(Path.GetFileName).Where(f => char.IsAsciiDigit(f![0]) || f.StartsWith("fd", StringComparison.Ordinal)).Order();
        Assert.Equal(["10.1.0.3", "fd00__3"], files);
        Assert.Equal("10.1.0.3/24", kept[0].Address.ToString());
    }

    [Fact]
    public void Gc_releases_everything_not_valid_and_keeps_unreadable_owners()
    {
        var ipam = Ipam("""[[{"subnet": "10.1.0.0/24"}]]""");
        ipam.Allocate("keep", "eth0");
        ipam.Allocate("drop", "eth0");
        File.WriteAllText(Path.Combine(dir, "10.1.0.9"), ""); // owner unknown: must stay in use
        File.WriteAllText(Path.Combine(dir, "10.1.0.8.123.1.tmp"), "torn"); // a killed writer's temp file
        var released = ipam.CollectGarbage(new HashSet<(string, string)> { ("keep", "eth0") });
        Assert.Equal([IPAddress.Parse("10.1.0.3")], released);
        Assert.True(File.Exists(Path.Combine(dir, "10.1.0.9")));
        Assert.False(File.Exists(Path.Combine(dir, "10.1.0.8.123.1.tmp")));
        Assert.NotEqual("10.1.0.9/24", ipam.Allocate("new", "eth0")[0].Address.ToString());
    }

    [Fact]
    public void Temp_files_of_a_killed_writer_never_count_as_allocations()
    {
        File.WriteAllText(Path.Combine(dir, "10.1.0.2.999.1.tmp"), "c9\neth0");
        Assert.Equal("10.1.0.2/24", Ipam("""[[{"subnet": "10.1.0.0/24"}]]""").Allocate("c1", "eth0")[0].Address.ToString());
    }

    [Fact]
    public void A_long_run_of_taken_addresses_after_the_cursor_falls_back_to_the_listing()
    {
        // 100 addresses after the cursor are taken (more than ADD probes one by one); the first
        // free one after them is found all the same, and wrapping round still works.
        var ipam = Ipam("""[[{"subnet": "10.1.0.0/24"}]]""");
        Assert.Equal("10.1.0.2/24", ipam.Allocate("c0", "eth0")[0].Address.ToString());
        for (int host = 3; host < 103; host++) File.WriteAllText(Path.Combine(dir, $"10.1.0.{host}"), "other\neth0");
        Assert.Equal("10.1.0.103/24", ipam.Allocate("c1", "eth0")[0].Address.ToString());

        for (int host = 104; host < 255; host++) File.WriteAllText(Path.Combine(dir, $"10.1.0.{host}"), "other\neth0");
        ipam.Release("c0", "eth0");
        Assert.Equal("10.1.0.2/24", ipam.Allocate("c2", "eth0")[0].Address.ToString());
        Assert.Throws<IpamExhaustedException>(() => ipam.Allocate("c3", "eth0"));
    }

    [Fact]
    public void Exhaustion_names_the_range_set_and_status_reports_it()
    {
        var ipam = Ipam("""[[{"subnet": "10.1.0.0/30"}]]""");
        Assert.True(ipam.HasFreeAddress());
        ipam.Allocate("c1", "eth0");
        Assert.False(ipam.HasFreeAddress());
        var error = Assert.Throws<IpamExhaustedException>(() => ipam.Allocate("c2", "eth0"));
        Assert.Contains("ipam.ranges[0]", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Each thread opens its own lock file description, so flock serialises them exactly
    /// as it does separate plugin processes (the kernel test does it with 100 real processes).</summary>
    [Fact]
    public void Parallel_allocations_from_independent_instances_never_collide()
    {
        var results = new IReadOnlyList<AllocatedAddress>[64];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i => results[i] = Ipam().Allocate($"c{i}", "eth0"));
        var all = results.SelectMany(r => r).Select(a => a.Address.ToString()).ToList();
        Assert.Equal(128, all.Count);
        Assert.Equal(128, all.Distinct().Count());
    }
}
