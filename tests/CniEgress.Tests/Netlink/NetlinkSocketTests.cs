using CniEgress.Netlink;
using CniEgress.Netlink.Route;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Netlink;

public class NetlinkSocketTests
{
    [KernelFact]
    public void A_request_after_an_abandoned_dump_skips_the_dumps_leftover_replies()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("sock");
        for (int i = 0; i < 40; i++) Command.Run("ip", "-n", pod.Name, "link", "add", $"br{i}", "type", "bridge");
        using var socket = pod.Namespace.Run(() => NetlinkSocket.Open(NetlinkProtocol.Route));
        var writer = new NetlinkMessageWriter();

        uint dump = socket.NextSequence();
        LinkMessages.DumpLinks(writer, dump);
        Assert.Throws<InvalidOperationException>(() =>
            socket.Dump("list links", writer.WrittenSpan, dump, (in NetlinkMessage _) => throw new InvalidOperationException("stop early")));

        // The rest of that dump (more links, NLMSG_DONE) is still queued on the socket.
        writer.Clear();
        uint get = socket.NextSequence();
        LinkMessages.GetLink(writer, get, 0, "lo");
        var names = new List<string>();
        socket.Execute("get lo", writer.WrittenSpan, get, (in NetlinkMessage message) =>
        {
            if (LinkMessages.TryParseLink(message, out var link)) names.Add(link.Name);
        });
        Assert.Equal(["lo"], names);
    }

    [KernelFact]
    public void TryExecute_answers_false_for_a_missing_object_and_throws_every_other_error()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("sock");
        using var socket = pod.Namespace.Run(() => NetlinkSocket.Open(NetlinkProtocol.Route));
        var writer = new NetlinkMessageWriter();
        var names = new List<string>();
        NetlinkMessageHandler collect = (in NetlinkMessage message) =>
        {
            if (LinkMessages.TryParseLink(message, out var link)) names.Add(link.Name);
        };

        uint missing = socket.NextSequence();
        LinkMessages.GetLink(writer, missing, 0, "nosuchlink");
        Assert.False(socket.TryExecute("get nosuchlink", writer.WrittenSpan, missing, collect));

        writer.Clear();
        uint present = socket.NextSequence();
        LinkMessages.GetLink(writer, present, 0, "lo");
        Assert.True(socket.TryExecute("get lo", writer.WrittenSpan, present, collect));
        Assert.Equal(["lo"], names);

        // The loopback device cannot be deleted: an error that is not "no such object".
        writer.Clear();
        uint refused = socket.NextSequence();
        LinkMessages.DeleteLink(writer, refused, "lo");
        var e = Assert.ThrowsAny<NetlinkException>(() => socket.TryExecute("delete lo", writer.WrittenSpan, refused));
        Assert.IsNotType<NetlinkNotFoundException>(e);
        Assert.Contains("delete lo failed", e.Message);
    }

    [KernelFact]
    public void One_client_serves_several_threads_at_once()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        using var pod = TestNamespace.Create("sock");
        Command.Run("ip", "-n", pod.Name, "link", "add", "br-x", "type", "bridge");
        using var client = pod.Namespace.OpenRouteClient();
        int errors = 0;

        var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            for (int round = 0; round < 50; round++)
            {
                bool ok = i % 2 == 0
                    ? client.FindLink("br-x")?.Kind == "bridge"
                    : client.ListLinks().Count == 2;
                if (!ok) Interlocked.Increment(ref errors);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));

        Assert.Equal(0, errors);
    }
}
