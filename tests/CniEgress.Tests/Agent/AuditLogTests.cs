using CniEgress.Netlink.Nflog;
using CniEgress.PolicyAgent.Agent;
using Xunit;

namespace CniEgress.Tests.Agent;

public class AuditLogTests
{
    [Fact]
    public void Names_the_destination_of_IPv4_and_IPv6_packets()
    {
        byte[] v4 = new byte[24];
        v4[0] = 0x45; v4[9] = 6; // TCP
        new byte[] { 203, 0, 113, 10 }.CopyTo(v4, 16);
        v4[22] = 0x0c; v4[23] = 0xea; // port 3306
        Assert.Equal("203.0.113.10:3306/tcp", AuditLog.Destination(v4));

        byte[] v6 = new byte[44];
        v6[0] = 0x60; v6[6] = 17; // UDP
        System.Net.IPAddress.Parse("2001:db8:e::10").GetAddressBytes().CopyTo(v6, 24);
        v6[42] = 0; v6[43] = 53;
        Assert.Equal("[2001:db8:e::10]:53/udp", AuditLog.Destination(v6));

        Assert.Equal("?", AuditLog.Destination([0x45, 0]));
    }

    [Fact]
    public void A_line_names_the_pod_and_the_policies_of_its_class()
    {
        var view = new AuditView(new Dictionary<string, CniEgress.PolicyAgent.Policy.LocalPod> { ["ceg0123456789ab"] = new("team-a", "client", "ceg0123456789ab", []) },
            new Dictionary<string, IReadOnlyList<string>> { ["a-class-0003"] = ["team-a/only-db"] });
        byte[] v4 = new byte[24];
        v4[0] = 0x45; v4[9] = 17;
        new byte[] { 192, 0, 2, 1 }.CopyTo(v4, 16);
        v4[23] = 53;
        string line = AuditLog.Describe(view, "ceg0123456789ab", new NflogPacket("ceg-deny a-class-0003 ", 7, v4));
        Assert.Equal("denied egress: team-a/client (ceg0123456789ab) -> 192.0.2.1:53/udp; isolated by team-a/only-db, which allow nothing of the kind", line);
    }
}
