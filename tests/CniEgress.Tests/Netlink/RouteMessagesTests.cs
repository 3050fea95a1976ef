using System.Net;
using System.Net.NetworkInformation;
using CniEgress.Net;
using CniEgress.Netlink;
using CniEgress.Netlink.Route;
using Xunit;

namespace CniEgress.Tests.Netlink;

/// <summary>The exact bytes of rtnetlink requests, checked against layouts worked out by hand
/// from &lt;linux/rtnetlink.h&gt; (little-endian host).</summary>
public class RouteMessagesTests
{
    private readonly NetlinkMessageWriter _writer = new();

    [Fact]
    public void NewAddress_for_an_IPv4_host_address_has_header_ifaddrmsg_local_and_address()
    {
        AddressMessages.NewAddress(_writer, 1, 7, InterfaceAddress.Parse("10.1.0.5/32"), noDad: true);

        AssertBytes("""
            28 00 00 00  14 00  05 06  01 00 00 00  00 00 00 00
            02 20 00 00  07 00 00 00
            08 00 02 00  0a 01 00 05
            08 00 01 00  0a 01 00 05
            """);
    }

    [Fact]
    public void NewAddress_for_an_IPv4_subnet_adds_the_broadcast_address()
    {
        AddressMessages.NewAddress(_writer, 2, 7, InterfaceAddress.Parse("10.1.0.5/24"), noDad: false);

        AssertBytes("""
            30 00 00 00  14 00  05 06  02 00 00 00  00 00 00 00
            02 18 00 00  07 00 00 00
            08 00 02 00  0a 01 00 05
            08 00 01 00  0a 01 00 05
            08 00 04 00  0a 01 00 ff
            """);
    }

    [Fact]
    public void NewAddress_for_IPv6_sets_IFA_F_NODAD_only_when_asked()
    {
        AddressMessages.NewAddress(_writer, 3, 3, InterfaceAddress.Parse("fd00::5/128"), noDad: true);

        AssertBytes("""
            40 00 00 00  14 00  05 06  03 00 00 00  00 00 00 00
            0a 80 02 00  03 00 00 00
            14 00 02 00  fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 05
            14 00 01 00  fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 05
            """);

        _writer.Clear();
        AddressMessages.NewAddress(_writer, 3, 3, InterfaceAddress.Parse("fd00::5/128"), noDad: false);
        Assert.Equal(0, _writer.WrittenSpan[16 + 2]);
    }

    [Fact]
    public void NewRoute_default_via_onlink_gateway()
    {
        var route = new RouteSpec(new IPNetwork(IPAddress.Any, 0), 2, IPAddress.Parse("169.254.1.1"), OnLink: true);

        RouteMessages.NewRoute(_writer, 9, route, NetlinkMessageFlags.Create | NetlinkMessageFlags.Exclusive);

        AssertBytes("""
            34 00 00 00  18 00  05 06  09 00 00 00  00 00 00 00
            02 00 00 00  fe 03 00 01  04 00 00 00
            08 00 0f 00  fe 00 00 00
            08 00 05 00  a9 fe 01 01
            08 00 04 00  02 00 00 00
            """);
    }

    [Fact]
    public void ReplaceRoute_of_a_link_scope_host_route_in_a_high_table()
    {
        var route = new RouteSpec(IPNetwork.Parse("10.1.0.5/32"), 12, Scope: RouteScope.Link, Table: 1000);

        RouteMessages.NewRoute(_writer, 4, route, NetlinkMessageFlags.Create | NetlinkMessageFlags.Replace);

        // rtm_table 0 (RT_TABLE_UNSPEC) defers to RTA_TABLE = 1000 (0x3e8).
        AssertBytes("""
            34 00 00 00  18 00  05 05  04 00 00 00  00 00 00 00
            02 20 00 00  00 03 fd 01  00 00 00 00
            08 00 0f 00  e8 03 00 00
            08 00 01 00  0a 01 00 05
            08 00 04 00  0c 00 00 00
            """);
    }

    [Fact]
    public void DeleteRoute_uses_the_kernel_wildcards_for_scope_protocol_and_type()
    {
        var route = new RouteSpec(IPNetwork.Parse("10.1.0.5/32"), 12, Scope: RouteScope.Link);

        RouteMessages.DeleteRoute(_writer, 6, route);

        AssertBytes("""
            34 00 00 00  19 00  05 00  06 00 00 00  00 00 00 00
            02 20 00 00  fe 00 ff 00  00 00 00 00
            08 00 0f 00  fe 00 00 00
            08 00 01 00  0a 01 00 05
            08 00 04 00  0c 00 00 00
            """);
    }

    [Fact]
    public void DumpRoutes_names_the_table_and_only_when_asked_the_output_device()
    {
        RouteMessages.DumpRoutes(_writer, 7, 2, 254, outputInterface: 12);

        AssertBytes("""
            2c 00 00 00  1a 00  01 03  07 00 00 00  00 00 00 00
            02 00 00 00  fe 00 00 00  00 00 00 00
            08 00 0f 00  fe 00 00 00
            08 00 04 00  0c 00 00 00
            """);

        _writer.Clear();
        RouteMessages.DumpRoutes(_writer, 7, 2, 254);
        Assert.Equal(36, _writer.WrittenSpan.Length);
    }

    [Fact]
    public void LookUpRoute_asks_for_the_matched_table_entry_of_one_host_address()
    {
        RouteMessages.LookUpRoute(_writer, 8, IPAddress.Parse("240.0.0.1"));

        AssertBytes("""
            24 00 00 00  1a 00  05 00  08 00 00 00  00 00 00 00
            02 20 00 00  00 00 00 00  00 20 00 00
            08 00 01 00  f0 00 00 01
            """);
    }

    [Fact]
    public void Route_with_a_gateway_of_the_other_family_is_rejected()
    {
        var route = new RouteSpec(IPNetwork.Parse("10.0.0.0/8"), 1, IPAddress.Parse("fd00::1"));
        Assert.Throws<ArgumentException>(() => RouteMessages.NewRoute(_writer, 1, route, NetlinkMessageFlags.Create));
    }

    [Fact]
    public void CreateVeth_nests_the_peer_ifinfomsg_and_its_namespace_fd_inside_linkinfo()
    {
        LinkMessages.CreateVeth(_writer, 5, new VethRequest("veth1", "eth0", 42, 1500, null, null));

        AssertBytes("""
            98 00 00 00  10 00  05 06  05 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            0a 00 03 00  76 65 74 68 31 00 00 00
            08 00 04 00  dc 05 00 00
            08 00 1f 00  01 00 00 00
            08 00 20 00  01 00 00 00
            54 00 12 80
              09 00 01 00  76 65 74 68 00 00 00 00
              44 00 02 80
                40 00 01 80
                  00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
                  09 00 03 00  65 74 68 30 00 00 00 00
                  08 00 04 00  dc 05 00 00
                  08 00 1f 00  01 00 00 00
                  08 00 20 00  01 00 00 00
                  08 00 1c 00  2a 00 00 00
            """);
    }

    [Fact]
    public void CreateVeth_sets_both_MACs_when_given()
    {
        var hostMac = PhysicalAddress.Parse("02-00-00-00-00-01");
        var peerMac = PhysicalAddress.Parse("02-00-00-00-00-02");

        LinkMessages.CreateVeth(_writer, 5, new VethRequest("veth1", "eth0", 42, 1500, hostMac, peerMac));

        byte[] bytes = _writer.WrittenSpan.ToArray();
        Assert.Equal(120 + 24 + 32, bytes.Length);
        Assert.Contains("0a 00 01 00 02 00 00 00 00 01 00 00", Hex.Format(bytes));
        Assert.Contains("0a 00 01 00 02 00 00 00 00 02 00 00", Hex.Format(bytes));
        // One TX and one RX queue for each end, so the kernel never has to cut them down.
        Assert.Equal(2, CountOf(Hex.Format(bytes), "08 00 1f 00 01 00 00 00 08 00 20 00 01 00 00 00"));
    }

    [Fact]
    public void SetLinkUp_changes_only_IFF_UP()
    {
        LinkMessages.SetLinkUp(_writer, 3, 9);

        AssertBytes("""
            20 00 00 00  10 00  05 00  03 00 00 00  00 00 00 00
            00 00 00 00  09 00 00 00  01 00 00 00  01 00 00 00
            """);
    }

    [Fact]
    public void DisableIpv6AddressGeneration_sets_addr_gen_mode_none_inside_the_inet6_af_spec()
    {
        LinkMessages.DisableIpv6AddressGeneration(_writer, 4, 9);

        AssertBytes("""
            30 00 00 00  10 00  05 00  04 00 00 00  00 00 00 00
            00 00 00 00  09 00 00 00  00 00 00 00  00 00 00 00
            10 00 1a 80  0c 00 0a 80  05 00 08 00  01 00 00 00
            """);
    }

    [Fact]
    public void DeleteLink_by_name_sends_the_name_and_no_index()
    {
        LinkMessages.DeleteLink(_writer, 7, "veth1");

        AssertBytes("""
            2c 00 00 00  11 00  05 00  07 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            0a 00 03 00  76 65 74 68  31 00 00 00
            """);
    }

    [Fact]
    public void PermanentNeighbour_replaces_with_NUD_PERMANENT()
    {
        AddressMessages.NewPermanentNeighbour(_writer, 8, 4, IPAddress.Parse("169.254.1.1"), PhysicalAddress.Parse("EE-EE-EE-EE-EE-EE").GetAddressBytes());

        AssertBytes("""
            30 00 00 00  1c 00  05 05  08 00 00 00  00 00 00 00
            02 00 00 00  04 00 00 00  80 00 00 00
            08 00 01 00  a9 fe 01 01
            0a 00 02 00  ee ee ee ee ee ee 00 00
            """);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("a/b")]
    [InlineData("a b")]
    public void Invalid_interface_names_are_rejected(string name) =>
        Assert.Throws<ArgumentException>(() => LinkMessages.ValidateName(name, "name"));

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    private void AssertBytes(string expected) =>
        Assert.Equal(Hex.Format(Hex.Parse(expected)), Hex.Format(_writer.WrittenSpan));
}
