using System.Net;
using CniEgress.Netlink;
using CniEgress.Netlink.Nftables;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Netlink;

/// <summary>nf_tables set elements against the real kernel, in a pod namespace inside the
/// sandbox; `nft -j list set` is the independent witness.</summary>
public class NftablesNetlinkClientTests
{
    private const string Ruleset = """
        table inet cni {
            set pods4 { type ipv4_addr; }
            set pods6 { type ipv6_addr; }
        }
        """;

    [KernelFact]
    public void TableExists_tells_tables_apart_by_name_and_family()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = CreateWithRuleset();
        using var nft = pod.Namespace.OpenNftablesClient();

        Assert.True(nft.TableExists(NftFamily.Inet, "cni"));
        Assert.False(nft.TableExists(NftFamily.IPv4, "cni"));
        Assert.False(nft.TableExists(NftFamily.Inet, "nosuchtable"));
        Assert.True(nft.SetExists(NftFamily.Inet, "cni", "pods4"));
        Assert.False(nft.SetExists(NftFamily.Inet, "cni", "nosuchset"));
        using var sandbox = NftablesNetlinkClient.Open();
        Assert.False(sandbox.TableExists(NftFamily.Inet, "cni"));
    }

    [KernelFact]
    public void Adding_is_idempotent_and_deleting_tolerates_absent_elements()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = CreateWithRuleset();
        using var nft = pod.Namespace.OpenNftablesClient();

        nft.AddSetElements(NftFamily.Inet, "cni", "pods4", [V4("10.9.0.1"), V4("10.9.0.2")]);
        Assert.Equal(["10.9.0.1", "10.9.0.2"], Elements(pod, "pods4"));

        nft.AddSetElements(NftFamily.Inet, "cni", "pods4", [V4("10.9.0.2"), V4("10.9.0.3")]);
        Assert.Equal(["10.9.0.1", "10.9.0.2", "10.9.0.3"], Elements(pod, "pods4"));

        // One present, one absent: the present one still goes.
        nft.DeleteSetElements(NftFamily.Inet, "cni", "pods4", [V4("10.9.0.1"), V4("10.9.0.77")]);
        Assert.Equal(["10.9.0.2", "10.9.0.3"], Elements(pod, "pods4"));

        nft.DeleteSetElements(NftFamily.Inet, "cni", "pods4", [V4("10.9.0.1")]);
        nft.DeleteSetElements(NftFamily.Inet, "cni", "pods4", [V4("10.9.0.2"), V4("10.9.0.3")]);
        Assert.Empty(Elements(pod, "pods4"));
        nft.AddSetElements(NftFamily.Inet, "cni", "pods4", []);
    }

    [KernelFact]
    public void IPv6_keys_are_sixteen_bytes()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = CreateWithRuleset();
        using var nft = pod.Namespace.OpenNftablesClient();

        nft.AddSetElements(NftFamily.Inet, "cni", "pods6", [V6("2001:db8::1"), V6("2001:db8::2")]);
        nft.DeleteSetElements(NftFamily.Inet, "cni", "pods6", [V6("2001:db8::1")]);

        Assert.Equal(["2001:db8::2"], Elements(pod, "pods6"));
    }

    [KernelFact]
    public void A_missing_set_is_NotFound_for_add_and_delete()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = CreateWithRuleset();
        using var nft = pod.Namespace.OpenNftablesClient();

        var add = Assert.Throws<NetlinkNotFoundException>(() => nft.AddSetElements(NftFamily.Inet, "cni", "nosuchset", [V4("10.9.0.1")]));
        Assert.Equal(2, add.Errno);
        Assert.Throws<NetlinkNotFoundException>(() => nft.DeleteSetElements(NftFamily.Inet, "cni", "nosuchset", [V4("10.9.0.1")]));
        Assert.Throws<NetlinkNotFoundException>(() => nft.DeleteSetElements(NftFamily.Inet, "nosuchtable", "pods4", [V4("10.9.0.1")]));
        // A key of the wrong length is the kernel's EINVAL, not swallowed.
        var wrong = Assert.Throws<NetlinkException>(() => nft.AddSetElements(NftFamily.Inet, "cni", "pods4", [new byte[16]]));
        Assert.Equal(22, wrong.Errno);
    }

    [KernelFact]
    public void CountRules_counts_the_rules_of_one_table_across_its_chains()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = CreateWithRuleset();
        using var nft = pod.Namespace.OpenNftablesClient();
        Nft(pod, """
            table inet cni {
                chain a { type filter hook output priority 0; tcp dport 1 accept; tcp dport 2 accept; }
                chain b { udp dport 3 drop; }
            }
            table inet other { chain c { tcp dport 4 accept; }; }
            """);
        Assert.Equal(3, nft.CountRules(NftFamily.Inet, "cni"));
        Assert.Equal(1, nft.CountRules(NftFamily.Inet, "other"));
        Nft(pod, "flush chain inet cni a");
        Assert.Equal(1, nft.CountRules(NftFamily.Inet, "cni"));
        Assert.Equal(0, nft.CountRules(NftFamily.Inet, "nosuchtable"));
    }

    private static void Nft(TestNamespace pod, string text)
    {
        var result = Command.Execute("ip", ["netns", "exec", pod.Name, "nft", "-f", "-"], text);
        if (result.Status != 0) throw new InvalidOperationException("nft -f failed: " + result.Error);
    }

    private static TestNamespace CreateWithRuleset()
    {
        var pod = TestNamespace.Create("nft");
        var result = Command.Execute("ip", ["netns", "exec", pod.Name, "nft", "-f", "-"], Ruleset);
        if (result.Status != 0) throw new InvalidOperationException("nft -f failed: " + result.Error);
        return pod;
    }

    private static List<string> Elements(TestNamespace pod, string set)
    {
        var json = Command.Json("ip", "netns", "exec", pod.Name, "nft", "-j", "list", "set", "inet", "cni", set);
        var node = json["nftables"]!.AsArray().Single(n => n!["set"] != null)!["set"]!;
        return node["elem"]?.AsArray().Select(e => (string)e!).Order().ToList() ?? [];
    }

    private static byte[] V4(string address) => IPAddress.Parse(address).GetAddressBytes();

    private static byte[] V6(string address) => IPAddress.Parse(address).GetAddressBytes();
}
