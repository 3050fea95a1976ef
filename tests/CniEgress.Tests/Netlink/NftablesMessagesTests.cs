using CniEgress.Netlink;
using CniEgress.Netlink.Nftables;
using Xunit;

namespace CniEgress.Tests.Netlink;

public class NftablesMessagesTests
{
    private readonly NetlinkMessageWriter _writer = new();

    [Fact]
    public void Add_elements_is_one_batch_begin_newsetelem_end()
    {
        NftablesMessages.SetElementsBatch(_writer, 100, add: true, NftFamily.Inet, "t", "s", [[10, 0, 0, 1]]);

        AssertBytes("""
            14 00 00 00  10 00  01 00  64 00 00 00  00 00 00 00   00 00 00 0a
            38 00 00 00  0c 0a  05 04  65 00 00 00  00 00 00 00   01 00 00 00
              06 00 01 00  74 00 00 00
              06 00 02 00  73 00 00 00
              14 00 03 80
                10 00 01 80
                  0c 00 01 80
                    08 00 01 00  0a 00 00 01
            14 00 00 00  11 00  01 00  66 00 00 00  00 00 00 00   00 00 00 0a
            """);
    }

    [Fact]
    public void Delete_elements_has_no_create_flag_and_one_list_element_per_key()
    {
        byte[] v6 = new byte[16];
        v6[0] = 0xfd;
        v6[15] = 1;

        NftablesMessages.SetElementsBatch(_writer, 7, add: false, NftFamily.IPv6, "tbl", "set6", [v6, v6]);

        var messages = new List<(ushort Type, NetlinkMessageFlags Flags, uint Sequence, int Length)>();
        foreach (var message in new NetlinkMessageReader(_writer.WrittenSpan))
            messages.Add((message.Type, message.Flags, message.Sequence, message.Payload.Length));
        Assert.Equal(3, messages.Count);
        Assert.Equal((ushort)0x0a0e, messages[1].Type);
        Assert.Equal(NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack, messages[1].Flags);
        Assert.Equal([7u, 8u, 9u], messages.Select(m => m.Sequence));
        // nfgenmsg 4 + "tbl\0" 8 + "set6\0" 12 + elements 4 + 2 × (4 + 4 + 4 + 16)
        Assert.Equal(4 + 8 + 12 + 4 + 2 * 28, messages[1].Length);
    }

    [Fact]
    public void GetTable_names_the_table_under_the_family()
    {
        NftablesMessages.GetTable(_writer, 3, NftFamily.IPv4, "nat");

        AssertBytes("""
            1c 00 00 00  01 0a  05 00  03 00 00 00  00 00 00 00   02 00 00 00
            08 00 01 00  6e 61 74 00
            """);
    }

    private void AssertBytes(string expected) =>
        Assert.Equal(Hex.Format(Hex.Parse(expected)), Hex.Format(_writer.WrittenSpan));
}
