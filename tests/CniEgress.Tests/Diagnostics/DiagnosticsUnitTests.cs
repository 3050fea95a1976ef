using System.Buffers.Binary;
using System.Net;
using CniEgress.Net;
using CniEgress.PolicyAgent.Diagnostics;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;
using Xunit;

namespace CniEgress.Tests.Diagnostics;

/// <summary>The debug CLI's pure parts: destination parsing, NFLOG records, reading the kernel's
/// JSON back into a dataplane, and the diff that compares dataplanes by what they allow.</summary>
public class DiagnosticsUnitTests
{
    private static AddressRange R(string cidr) => AddressRange.Of(InterfaceAddress.Parse(cidr).Network);

    [Theory]
    [InlineData("203.0.113.10:80", "203.0.113.10", null, 80, Protocols.Tcp)]
    [InlineData("203.0.113.10:53/udp", "203.0.113.10", null, 53, Protocols.Udp)]
    [InlineData("[fd00::5]:80/SCTP", "fd00::5", null, 80, Protocols.Sctp)]
    [InlineData("fd00::5", "fd00::5", null, null, Protocols.Tcp)]
    [InlineData("team-b/db:8080", null, "team-b/db", 8080, Protocols.Tcp)]
    [InlineData("team-b/db", null, "team-b/db", null, Protocols.Tcp)]
    public void Destinations_parse(string text, string? address, string? pod, int? port, byte protocol)
    {
        var target = FlowTarget.Parse(text);
        Assert.Equal(address, target.Address?.ToString());
        Assert.Equal(pod, target.Pod);
        Assert.Equal(port, target.Port);
        Assert.Equal(protocol, target.Protocol);
    }

    [Theory]
    [InlineData("db:80", "neither an address")]
    [InlineData("10.0.0.1:0", "is not a port")]
    [InlineData("10.0.0.1:80/gre", "is not a protocol")]
    [InlineData("[fd00::5:80", "needs its ']'")]
    public void Bad_destinations_say_why(string text, string why) =>
        Assert.Contains(why, Assert.Throws<QueryException>(() => FlowTarget.Parse(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void An_nflog_record_gives_group_interface_prefix_and_flow()
    {
        byte[] ip = new byte[40];
        ip[0] = 0x45; ip[9] = 6; BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(2), 40);
        IPAddress.Parse("10.1.0.5").TryWriteBytes(ip.AsSpan(12), out _);
        IPAddress.Parse("203.0.113.10").TryWriteBytes(ip.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(20), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(22), 3306);
        ip[32] = 0x50; ip[33] = 0x02; // data offset 5, SYN
        var record = new List<byte> { 2, 0, 0, 101 };
        void Tlv(int type, byte[] value)
        {
            record.AddRange(BitConverter.GetBytes((ushort)(value.Length + 4)));
            record.AddRange(BitConverter.GetBytes((ushort)type));
            record.AddRange(value);
            while (record.Count % 4 != 0) record.Add(0);
        }
        Tlv(4, [0, 0, 0, 7]);
        Tlv(10, "ceg-deny a-c3 \0"u8.ToArray());
        Tlv(9, ip);

        var parsed = NflogRecord.Parse(record.ToArray())!;
        Assert.Equal(101, parsed.Group);
        Assert.Equal(7, parsed.InputInterface);
        Assert.Equal("ceg-deny a-c3 ", parsed.Prefix);
        var flow = FlowTuple.Of(parsed.Payload)!;
        Assert.Equal("203.0.113.10:3306/tcp", flow.DestinationText);
        Assert.Equal(40000, flow.SourcePort);
        Assert.Null(NflogRecord.Parse(record.ToArray().AsSpan(0, 3)));
    }

    /// <summary>`nft -j list table` as nft 1.0.6 prints our objects (elements of every shape).</summary>
    private const string KernelJson = """
        {"nftables": [{"metainfo": {"version": "1.0.6"}},
        {"table": {"family": "inet", "name": "cni-egress", "handle": 1}},
        {"set": {"family": "inet", "name": "pod-sources-v4", "table": "cni-egress", "type": ["ifname", "ipv4_addr"], "handle": 2, "elem": [{"concat": ["ceg1", "10.1.0.5"]}]}},
        {"map": {"family": "inet", "name": "pod-class", "table": "cni-egress", "type": "ifname", "handle": 3, "map": "verdict", "elem": [["ceg1", {"goto": {"target": "a-c0"}}]]}},
        {"set": {"family": "inet", "name": "a-c0-any-v4", "table": "cni-egress", "type": "ipv4_addr", "handle": 4, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 8}}]}},
        {"map": {"family": "inet", "name": "a-c0-ports", "table": "cni-egress", "type": ["inet_proto", "inet_service"], "handle": 5, "map": "verdict", "flags": ["interval"], "elem": [[{"concat": ["tcp", 80]}, {"jump": {"target": "a-g0"}}], [{"concat": ["udp", {"range": [1000, 2000]}]}, {"jump": {"target": "a-g0"}}]]}},
        {"set": {"family": "inet", "name": "a-g0-v4", "table": "cni-egress", "type": "ipv4_addr", "handle": 6, "flags": ["interval"], "elem": ["192.0.2.1", {"range": ["198.51.100.5", "198.51.100.9"]}]}},
        {"rule": {"family": "inet", "table": "cni-egress", "chain": "a-c0", "handle": 10, "expr": [{"limit": {"rate": 10, "burst": 5, "per": "second"}}, {"log": {"prefix": "ceg-deny a-c0 ", "group": 100}}]}}]}
        """;

    [Fact]
    public void The_kernel_table_reads_back_into_a_dataplane()
    {
        var table = KernelTable.Parse(KernelJson);
        var dataplane = table.ToDataplane();
        Assert.Equal([new PodSource("ceg1", IPAddress.Parse("10.1.0.5"))], dataplane.PodSources);
        Assert.Equal("a-c0", dataplane.ClassOfInterface["ceg1"]);
        var allowed = AllowedTraffic.Of(dataplane.Classes["a-c0"]);
        Assert.Equal(["any port: 10.0.0.0/8", "tcp 80: 192.0.2.1, 198.51.100.5-198.51.100.9", "udp 1000-2000: 192.0.2.1, 198.51.100.5-198.51.100.9"], allowed.Lines());
        Assert.True(DataplaneVerdict.Allows(dataplane, "ceg1", IPAddress.Parse("10.1.0.5"), IPAddress.Parse("198.51.100.7"), Protocols.Udp, 1500));
        Assert.False(DataplaneVerdict.Allows(dataplane, "ceg1", IPAddress.Parse("10.1.0.5"), IPAddress.Parse("198.51.100.7"), Protocols.Tcp, 1500));
        Assert.Equal((100, "ceg-deny a-c0 "), (table.LogStatements[0].Group, table.LogStatements[0].Prefix));
        Assert.Equal(7, table.ElementCounts.Values.Sum());
    }

    [Fact]
    public void The_diff_compares_what_is_allowed_not_how_it_is_cut()
    {
        var sources = new[] { new PodSource("ceg1", IPAddress.Parse("10.1.0.5")) };
        var classOf = new Dictionary<string, string> { ["ceg1"] = "c" };
        DesiredDataplane With(params PortBox[] boxes) =>
            new(sources, classOf, new Dictionary<string, PolicyClass> { ["c"] = new("c", [], [R("10.0.0.0/8")], boxes) }, []);

        var whole = With(new PortBox(R("192.0.2.0/24"), Protocols.Tcp, 80, 90));
        var cut = With(new PortBox(R("192.0.2.0/25"), Protocols.Tcp, 80, 90), new PortBox(R("192.0.2.128/25"), Protocols.Tcp, 80, 84),
            new PortBox(R("192.0.2.128/25"), Protocols.Tcp, 85, 90), new PortBox(R("10.1.0.0/16"), Protocols.Tcp, 80, 80));
        Assert.Empty(DataplaneDiff.Between(whole, cut));

        var narrower = With(new PortBox(R("192.0.2.0/24"), Protocols.Tcp, 80, 89));
        Assert.Equal(["ceg1: desired allows tcp 80-90: 192.0.2.0/24; the kernel does not hold it so", "ceg1: the kernel allows tcp 80-89: 192.0.2.0/24; desired does not"],
            DataplaneDiff.Between(whole, narrower));
        var open = new DesiredDataplane(sources, new Dictionary<string, string>(), new Dictionary<string, PolicyClass>(), []);
        Assert.Equal(["ceg1: desired isolated, kernel not isolated"], DataplaneDiff.Between(whole, open));
        var spoofable = new DesiredDataplane([], classOf, whole.Classes, []);
        Assert.Equal(["ceg1: source addresses: desired 10.1.0.5, kernel (none)"], DataplaneDiff.Between(whole, spoofable));
    }
}
