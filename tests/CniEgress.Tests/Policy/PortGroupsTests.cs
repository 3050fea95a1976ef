using CniEgress.Net;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using Xunit;

namespace CniEgress.Tests.Policy;

public class PortGroupsTests
{
    private static AddressRange R(string cidr) => AddressRange.Of(InterfaceAddress.Parse(cidr).Network);

    [Fact]
    public void Port_ranges_with_the_same_destinations_share_one_group()
    {
        var layout = PortGroups.Build([
            new PortBox(R("192.0.2.0/24"), Protocols.Tcp, 443, 443),
            new PortBox(R("192.0.2.0/24"), Protocols.Udp, 53, 53),
            new PortBox(R("198.51.100.0/24"), Protocols.Tcp, 8000, 8010),
            new PortBox(R("192.0.2.0/24"), Protocols.Tcp, 8005, 8005),
        ]);
        Assert.Equal(3, layout.Groups.Count);
        var entries = layout.Entries.Select(e => $"{Protocols.Name(e.Protocol)} {e.FirstPort}-{e.LastPort} g{e.Group}").ToList();
        Assert.Equal(["tcp 443-443 g0", "tcp 8000-8004 g1", "tcp 8005-8005 g2", "tcp 8006-8010 g1", "udp 53-53 g0"], entries);
        Assert.Equal(["192.0.2.0/24", "198.51.100.0/24"], layout.Groups[2].Select(r => r.ToString()));
    }

    [Fact]
    public void Every_port_and_destination_keeps_its_verdict()
    {
        var random = new Random(3);
        for (int round = 0; round < 100; round++)
        {
            var boxes = Enumerable.Range(0, random.Next(1, 8)).Select(_ =>
            {
                uint first = (uint)random.Next(0, 40);
                ushort port = (ushort)random.Next(1, 30);
                return new PortBox(new AddressRange(false, first, first + (uint)random.Next(0, 10)), random.Next(2) == 0 ? Protocols.Tcp : Protocols.Udp, port, (ushort)(port + random.Next(0, 6)));
            }).ToList();
            var layout = PortGroups.Build(boxes);
            foreach (byte protocol in new[] { Protocols.Tcp, Protocols.Udp })
                for (int port = 0; port < 40; port++)
                    for (uint a = 0; a < 55; a++)
                    {
                        var address = AddressMath.ToAddress(a, false);
                        bool expected = boxes.Any(b => b.Contains(address, protocol, port));
                        var entry = layout.Entries.Where(e => e.Protocol == protocol && e.FirstPort <= port && port <= e.LastPort).ToList();
                        Assert.True(entry.Count <= 1, "port entries overlap");
                        bool actual = entry.Count == 1 && layout.Groups[entry[0].Group].Any(r => r.Contains(address));
                        Assert.Equal(expected, actual);
                    }
        }
    }
}
