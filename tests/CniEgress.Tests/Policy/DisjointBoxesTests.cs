using CniEgress.Net;
using CniEgress.PolicyAgent.Policy;
using Xunit;

namespace CniEgress.Tests.Policy;

public class DisjointBoxesTests
{
    private static AddressRange R(string cidr) => AddressRange.Of(InterfaceAddress.Parse(cidr).Network);

    private static string[] Show(IEnumerable<PortBox> boxes) =>
        boxes.Select(b => $"{b.Destination} {Protocols.Name(b.Protocol)} {b.FirstPort}-{b.LastPort}").ToArray();

    [Fact]
    public void Nested_boxes_become_disjoint_pieces_with_merged_ports()
    {
        var boxes = DisjointBoxes.Normalize([
            new PortBox(R("10.0.0.0/8"), Protocols.Tcp, 80, 80),
            new PortBox(R("10.1.0.0/16"), Protocols.Tcp, 80, 90),
        ]);
        Assert.Equal([
            "10.0.0.0/16 tcp 80-80",
            "10.1.0.0/16 tcp 80-90",
            "10.2.0.0-10.255.255.255 tcp 80-80",
        ], Show(boxes));
    }

    [Fact]
    public void Equal_neighbours_join_and_protocols_stay_apart()
    {
        var boxes = DisjointBoxes.Normalize([
            new PortBox(R("10.0.0.0/25"), Protocols.Tcp, 53, 53),
            new PortBox(R("10.0.0.128/25"), Protocols.Tcp, 53, 53),
            new PortBox(R("10.0.0.0/24"), Protocols.Udp, 53, 53),
            new PortBox(R("10.0.0.0/24"), Protocols.Tcp, 54, 60),
        ]);
        Assert.Equal(["10.0.0.0/24 tcp 53-60", "10.0.0.0/24 udp 53-53"], Show(boxes));
    }

    [Fact]
    public void Pieces_never_overlap_on_random_input()
    {
        var random = new Random(7);
        for (int round = 0; round < 200; round++)
        {
            var input = Enumerable.Range(0, random.Next(1, 12)).Select(_ =>
            {
                uint first = (uint)random.Next(0, 64), last = first + (uint)random.Next(0, 32);
                ushort p = (ushort)random.Next(1, 20);
                return new PortBox(new AddressRange(false, first, last), Protocols.Tcp, p, (ushort)(p + random.Next(0, 5)));
            }).ToList();
            var output = DisjointBoxes.Normalize(input).ToList();
            for (int i = 0; i < output.Count; i++)
                for (int j = i + 1; j < output.Count; j++)
                    Assert.False(output[i].Destination.Overlaps(output[j].Destination)
                        && output[i].FirstPort <= output[j].LastPort && output[j].FirstPort <= output[i].LastPort, $"round {round}: {output[i]} overlaps {output[j]}");
            for (uint a = 0; a < 100; a++)
                for (int port = 0; port < 26; port++)
                {
                    var address = AddressMath.ToAddress(a, false);
                    Assert.Equal(input.Any(b => b.Contains(address, Protocols.Tcp, port)), output.Any(b => b.Contains(address, Protocols.Tcp, port)));
                }
        }
    }
}
