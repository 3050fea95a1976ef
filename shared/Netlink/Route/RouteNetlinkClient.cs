using System.Diagnostics.CodeAnalysis;
using System.Net.NetworkInformation;
using CniEgress.Netns;

namespace CniEgress.Netlink.Route;

/// <summary>rtnetlink for the namespace its socket was opened in: links (veth pairs),
/// addresses, routes, neighbours. Every call is one request/reply exchange on one socket,
/// no processes. Safe to share between threads (calls are serialized).</summary>
public sealed partial class RouteNetlinkClient : IDisposable
{
    private const int MaxDumpAttempts = 5;

    private readonly NetlinkSocket _socket;
    private readonly NetlinkMessageWriter _writer = new();
    private readonly Lock _gate = new();

    private RouteNetlinkClient(NetlinkSocket socket) => _socket = socket;

    private delegate bool MessageParser<T>(in NetlinkMessage message, [MaybeNullWhen(false)] out T item);

    /// <summary>A client for the calling thread's current network namespace.</summary>
    public static RouteNetlinkClient Open() => new(NetlinkSocket.Open(NetlinkProtocol.Route));

    /// <summary>Creates a veth pair with ONE RTM_NEWLINK: <paramref name="hostName"/> here and
    /// <paramref name="peerName"/> directly inside <paramref name="peerNamespace"/>. Returns the
    /// host end's ifindex.</summary>
    /// <exception cref="NetlinkAlreadyExistsException">a link of either name already exists.</exception>
    public int CreateVeth(string hostName, string peerName, NetworkNamespace peerNamespace, int mtu, PhysicalAddress? hostMac = null, PhysicalAddress? peerMac = null)
    {
        LinkMessages.ValidateName(hostName, nameof(hostName));
        LinkMessages.ValidateName(peerName, nameof(peerName));
        ArgumentNullException.ThrowIfNull(peerNamespace);
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 68);
        bool added = false;
        peerNamespace.SafeHandle.DangerousAddRef(ref added);
        try
        {
            var veth = new VethRequest(hostName, peerName, peerNamespace.SafeHandle.Fd, mtu, hostMac, peerMac);
            Execute($"create veth {hostName} (peer {peerName} in {peerNamespace.Path})",
                (writer, sequence) => LinkMessages.CreateVeth(writer, sequence, veth));
        }
        finally
        {
            if (added) peerNamespace.SafeHandle.DangerousRelease();
        }
        // Linux only echoes a new link back (NLM_F_ECHO) from 6.3 on; asking by name works everywhere.
        return FindLink(hostName)?.Index
            ?? throw new NetlinkNotFoundException($"create veth {hostName}", Interop.Errno.ENODEV, "the new link vanished before it could be read back");
    }

    public LinkInfo? FindLink(string name)
    {
        LinkMessages.ValidateName(name, nameof(name));
        return GetLink($"get link {name}", 0, name);
    }

    public LinkInfo? FindLink(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        return GetLink($"get link #{index}", index, null);
    }

    public IReadOnlyList<LinkInfo> ListLinks() =>
        Dump<LinkInfo>("list links", LinkMessages.DumpLinks, LinkMessages.TryParseLink);

    public void SetLinkUp(int index) =>
        Execute($"set link #{index} up", (writer, sequence) => LinkMessages.SetLinkUp(writer, sequence, index));

    /// <summary>Keeps the kernel from giving the link an IPv6 link-local address when it comes up
    /// (call it while the link is down). Nothing to do on a kernel without IPv6.</summary>
    public void DisableIpv6AddressGeneration(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        try
        {
            Execute($"disable IPv6 address generation on link #{index}",
                (writer, sequence) => LinkMessages.DisableIpv6AddressGeneration(writer, sequence, index));
        }
        catch (NetlinkException e) when (e.Errno == Interop.Errno.EAFNOSUPPORT)
        {
            // Booted with ipv6.disable=1: no link gets IPv6 addresses at all.
        }
    }

    /// <summary>Deletes a link; for a veth this removes both ends, wherever the peer lives.</summary>
    /// <exception cref="NetlinkNotFoundException">no link has this index.</exception>
    public void DeleteLink(int index) =>
        Execute($"delete link #{index}", (writer, sequence) => LinkMessages.DeleteLink(writer, sequence, index));

    /// <summary>Deletes a link by name; false when there is none of that name.</summary>
    public bool DeleteLink(string name)
    {
        LinkMessages.ValidateName(name, nameof(name));
        return TryExecute($"delete link {name}", (writer, sequence) => LinkMessages.DeleteLink(writer, sequence, name));
    }

    public void Dispose() => _socket.Dispose();

    private LinkInfo? GetLink(string operation, int index, string? name)
    {
        LinkInfo? found = null;
        bool exists = TryExecute(operation, (writer, sequence) => LinkMessages.GetLink(writer, sequence, index, name),
            (in NetlinkMessage message) =>
            {
                if (LinkMessages.TryParseLink(message, out var link)) found = link;
            });
        return exists ? found : null;
    }

    /// <summary>One request, acked; replies go to <paramref name="onReply"/>.</summary>
    private void Execute(string operation, Action<NetlinkMessageWriter, uint> build, NetlinkMessageHandler? onReply = null) =>
        Exchange(operation, build, onReply, notFoundIsAnswer: false);

    /// <summary><see cref="Execute"/>, false when the kernel has no such object.</summary>
    private bool TryExecute(string operation, Action<NetlinkMessageWriter, uint> build, NetlinkMessageHandler? onReply = null, int alsoNotFound = 0) =>
        Exchange(operation, build, onReply, notFoundIsAnswer: true, alsoNotFound);

    private bool Exchange(string operation, Action<NetlinkMessageWriter, uint> build, NetlinkMessageHandler? onReply, bool notFoundIsAnswer, int alsoNotFound = 0)
    {
        lock (_gate)
        {
            _writer.Clear();
            uint sequence = _socket.NextSequence();
            build(_writer, sequence);
            if (notFoundIsAnswer) return _socket.TryExecute(operation, _writer.WrittenSpan, sequence, onReply, alsoNotFound);
            _socket.Execute(operation, _writer.WrittenSpan, sequence, onReply);
            return true;
        }
    }

    /// <summary>A full dump, redone (boundedly) when the kernel says it changed meanwhile.</summary>
    private List<T> Dump<T>(string operation, Action<NetlinkMessageWriter, uint> build, MessageParser<T> parse)
    {
        lock (_gate)
        {
            for (int attempt = 1; ; attempt++)
            {
                var items = new List<T>();
                _writer.Clear();
                uint sequence = _socket.NextSequence();
                build(_writer, sequence);
                bool consistent = _socket.Dump(operation, _writer.WrittenSpan, sequence, (in NetlinkMessage message) =>
                {
                    if (parse(message, out var item)) items.Add(item);
                });
                if (consistent || attempt == MaxDumpAttempts) return items;
            }
        }
    }
}
