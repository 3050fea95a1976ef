using System.Net.Sockets;

namespace CniEgress.Netlink.Conntrack;

/// <summary>The connection tracking table of the namespace its socket was opened in, over
/// ctnetlink: list connections, mark one. Used to stop flows that a tightened policy now denies.</summary>
public sealed class ConntrackClient : IDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly NetlinkMessageWriter _writer = new();
    private readonly Lock _gate = new();

    private ConntrackClient(NetlinkSocket socket) => _socket = socket;

    public static ConntrackClient Open() => new(NetlinkSocket.Open(NetlinkProtocol.Netfilter));

    /// <summary>TCP, UDP and SCTP connections of both families, by their original tuple.</summary>
    public List<ConntrackFlow> List()
    {
        var flows = new List<ConntrackFlow>();
        lock (_gate)
        {
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                _writer.Clear();
                uint sequence = _socket.NextSequence();
                ConntrackMessages.Dump(_writer, sequence, family);
                // A table that changes during the dump is fine here: the caller sweeps again on the next change.
                _socket.Dump("list conntrack entries", _writer.WrittenSpan, sequence, (in NetlinkMessage message) =>
                {
                    if (ConntrackMessages.TryParseFlow(message, out var flow)) flows.Add(flow);
                });
            }
        }
        return flows;
    }

    /// <summary>Sets the <paramref name="mask"/> bits of the connection's mark to <paramref name="mark"/>; false when it was already gone.</summary>
    public bool SetMark(ConntrackFlow flow, uint mark, uint mask)
    {
        lock (_gate)
        {
            _writer.Clear();
            uint sequence = _socket.NextSequence();
            ConntrackMessages.SetMark(_writer, sequence, flow, mark, mask);
            try
            {
                _socket.Execute($"mark conntrack entry {flow}", _writer.WrittenSpan, sequence);
                return true;
            }
            catch (NetlinkNotFoundException)
            {
                return false;
            }
        }
    }

    public void Dispose() => _socket.Dispose();
}
