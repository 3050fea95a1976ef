using System.Net;
using System.Net.NetworkInformation;
using CniEgress.Netlink;
using CniEgress.Netlink.Route;
using Xunit;

namespace CniEgress.Tests.Netlink;

/// <summary>Decoding replies the way the kernel sends them, and the writer's framing rules.</summary>
public class NetlinkCodecTests
{
    // An RTM_NEWLINK for a veth as a dump would carry it: index 7, UP|BROADCAST|RUNNING|
    // MULTICAST|LOWER_UP, name veth1, mtu 1400, MAC 02:00:00:00:00:07, IFLA_LINK 3, kind veth.
    private const string VethReply = """
        58 00 00 00  10 00  02 00  05 00 00 00  00 00 00 00
        00 00 01 00  07 00 00 00  43 10 01 00  00 00 00 00
        0a 00 03 00  76 65 74 68 31 00 00 00
        08 00 04 00  78 05 00 00
        0a 00 01 00  02 00 00 00 00 07 00 00
        08 00 05 00  03 00 00 00
        10 00 12 00  09 00 01 00  76 65 74 68 00 00 00 00
        """;

    [Fact]
    public void A_link_reply_decodes_to_LinkInfo()
    {
        var reader = new NetlinkMessageReader(Hex.Parse(VethReply));
        Assert.True(reader.MoveNext());
        Assert.True(LinkMessages.TryParseLink(reader.Current, out var link));
        Assert.False(reader.MoveNext());

        Assert.Equal(new LinkInfo(7, "veth1", PhysicalAddress.Parse("02-00-00-00-00-07"), 1400, true, "veth", 3), link);
    }

    [Fact]
    public void A_route_reply_decodes_to_RouteSpec_with_its_metric()
    {
        byte[] bytes = Hex.Parse("""
            3c 00 00 00  18 00  02 00  01 00 00 00  00 00 00 00
            02 00 00 00  fe 03 00 01  04 00 00 00
            08 00 0f 00  fe 00 00 00
            08 00 06 00  64 00 00 00
            08 00 05 00  a9 fe 01 01
            08 00 04 00  02 00 00 00
            """);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.MoveNext());

        Assert.True(RouteMessages.TryParseRoute(reader.Current, 254, out var entry));
        Assert.Equal(new RouteSpec(new IPNetwork(IPAddress.Any, 0), 2, IPAddress.Parse("169.254.1.1"), RouteScope.Universe, true, 254), entry.Spec);
        Assert.Equal(100, entry.Priority);
        Assert.False(RouteMessages.TryParseRoute(reader.Current, 100, out _));
    }

    [Fact]
    public void An_error_with_extended_ack_yields_errno_and_the_kernels_message()
    {
        // nlmsgerr { error = -17, capped echo of the request header }, then NLMSGERR_ATTR_MSG.
        byte[] bytes = Hex.Parse("""
            34 00 00 00  02 00  00 03  09 00 00 00  00 00 00 00
            ef ff ff ff
            28 00 00 00  14 00  05 06  09 00 00 00  00 00 00 00
            10 00 01 00  46 69 6c 65 20 65 78 69 73 74 73 00
            """);
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.MoveNext());

        int errno = NetlinkSocket.ParseError(reader.Current, out string? detail);

        Assert.Equal(17, errno);
        Assert.Equal("File exists", detail);
    }

    [Fact]
    public void An_ack_is_errno_zero()
    {
        byte[] bytes = Hex.Parse("24 00 00 00 02 00 00 01 09 00 00 00 00 00 00 00  00 00 00 00  14 00 00 00 14 00 05 06 09 00 00 00 00 00 00 00");
        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.MoveNext());
        Assert.Equal(0, NetlinkSocket.ParseError(reader.Current, out string? detail));
        Assert.Null(detail);
    }

    [Fact]
    public void A_message_longer_than_the_datagram_is_a_protocol_error()
    {
        byte[] bytes = Hex.Parse("40 00 00 00 10 00 00 00 01 00 00 00 00 00 00 00");
        Assert.Throws<NetlinkException>(() =>
        {
            var reader = new NetlinkMessageReader(bytes);
            reader.MoveNext();
        });
    }

    [Theory]
    [InlineData(2, typeof(NetlinkNotFoundException))]   // ENOENT
    [InlineData(19, typeof(NetlinkNotFoundException))]  // ENODEV
    [InlineData(3, typeof(NetlinkNotFoundException))]   // ESRCH
    [InlineData(17, typeof(NetlinkAlreadyExistsException))] // EEXIST
    [InlineData(1, typeof(NetlinkException))]           // EPERM
    public void Errno_maps_to_the_typed_exception(int errno, Type expected)
    {
        var exception = NetlinkException.FromErrno("add route", errno, "detail");

        Assert.Equal(expected, exception.GetType());
        Assert.Equal(errno, exception.Errno);
        Assert.Equal("add route", exception.Operation);
        Assert.Contains("add route", exception.Message);
        Assert.Contains("detail", exception.Message);
    }

    [Fact]
    public void Attributes_are_padded_to_four_bytes_and_nests_measure_their_content()
    {
        var writer = new NetlinkMessageWriter(initialCapacity: 8);
        writer.BeginMessage(0x10, NetlinkMessageFlags.Request, 1);
        writer.BeginNested(1);
        writer.WriteAttribute(2, (byte)0xaa);
        writer.WriteAttribute(3, "ab");
        writer.EndNested();
        writer.EndMessage();

        Assert.Equal(Hex.Format(Hex.Parse("""
            24 00 00 00  10 00  01 00  01 00 00 00  00 00 00 00
            14 00 01 80
              05 00 02 00  aa 00 00 00
              07 00 03 00  61 62 00 00
            """)), Hex.Format(writer.WrittenSpan));
    }

    [Fact]
    public void Ending_a_message_with_an_open_nest_is_refused()
    {
        var writer = new NetlinkMessageWriter();
        writer.BeginMessage(0x10, NetlinkMessageFlags.Request, 1);
        writer.BeginNested(1);
        Assert.Throws<InvalidOperationException>(writer.EndMessage);
    }
}
