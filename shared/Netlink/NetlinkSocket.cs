using System.Runtime.InteropServices;
using CniEgress.Interop;

namespace CniEgress.Netlink;

/// <summary>A netlink socket talking to the kernel: sends requests, matches replies by sequence
/// number, turns NLMSG_ERROR into typed exceptions and reads multi-part dumps to NLMSG_DONE.
/// The socket belongs to the network namespace of the thread that opened it, for its whole
/// life, whichever thread uses it later. One request at a time: callers serialize.</summary>
public sealed class NetlinkSocket : IDisposable
{
    /// <summary>Dump datagrams are at most ~32 KiB (the kernel caps its dump skb there), so
    /// this never truncates; MSG_TRUNC would report it if it ever did.</summary>
    public const int ReceiveBufferSize = 64 * 1024;

    private const ushort ExtAckMessageAttribute = 1; // NLMSGERR_ATTR_MSG
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly FileDescriptorHandle _handle;
    private readonly byte[] _receiveBuffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize);
    private uint _sequence = (uint)Environment.TickCount;
    private TimeSpan _receiveTimeout = ReplyTimeout;
    private bool _bound;

    private NetlinkSocket(FileDescriptorHandle handle, NetlinkProtocol protocol)
    {
        _handle = handle;
        Protocol = protocol;
    }

    public NetlinkProtocol Protocol { get; }

    /// <summary>Opens a socket in the calling thread's network namespace.</summary>
    public static NetlinkSocket Open(NetlinkProtocol protocol)
    {
        int fd = Syscalls.OpenNetlinkSocket((int)protocol, out int errno);
        if (fd < 0) throw NetlinkException.FromErrno($"open netlink socket ({protocol})", errno);
        var handle = new FileDescriptorHandle(fd);
        // Best effort, older kernels lack some: extended acks put the kernel's reason in our
        // exceptions; capped acks don't echo the whole request back; strict checking makes
        // rtnetlink filter dumps (by table, by ifindex) on its side (Linux 4.20+).
        Syscalls.SetNetlinkOption(fd, Syscalls.NETLINK_EXT_ACK, 1);
        Syscalls.SetNetlinkOption(fd, Syscalls.NETLINK_CAP_ACK, 1);
        Syscalls.SetNetlinkOption(fd, Syscalls.NETLINK_GET_STRICT_CHK, 1);
        int timeoutErrno = Syscalls.SetReceiveTimeout(fd, ReplyTimeout);
        if (timeoutErrno != 0)
        {
            handle.Dispose();
            throw NetlinkException.FromErrno("set netlink receive timeout", timeoutErrno);
        }
        return new NetlinkSocket(handle, protocol);
    }

    /// <summary>Subscribes to a multicast group (an rtnetlink RTNLGRP_*, say): the kernel's
    /// notifications for it then arrive through <see cref="TryReceive"/>.</summary>
    public void JoinGroup(int group)
    {
        if (!_bound)
        {
            int bindErrno = Syscalls.BindNetlinkSocket(_handle.Fd);
            if (bindErrno != 0) throw NetlinkException.FromErrno("bind netlink socket", bindErrno);
            _bound = true;
        }
        int errno = Syscalls.SetNetlinkOption(_handle.Fd, Syscalls.NETLINK_ADD_MEMBERSHIP, group);
        if (errno != 0) throw NetlinkException.FromErrno($"join netlink group {group}", errno);
    }

    /// <summary>How long a receive waits (10 s unless set): a subscriber that also watches
    /// something else waits in short slices.</summary>
    public void SetReceiveTimeout(TimeSpan timeout)
    {
        int errno = Syscalls.SetReceiveTimeout(_handle.Fd, timeout);
        if (errno != 0) throw NetlinkException.FromErrno("set netlink receive timeout", errno);
        _receiveTimeout = timeout;
    }

    /// <summary>The next sequence number to stamp on a request (never 0).</summary>
    public uint NextSequence() => NextSequences(1);

    /// <summary>Reserves <paramref name="count"/> consecutive sequence numbers (for a batch)
    /// and returns the first; the run never wraps through 0.</summary>
    public uint NextSequences(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (_sequence > uint.MaxValue - (uint)count) _sequence = 0;
        uint first = _sequence + 1;
        _sequence += (uint)count;
        return first;
    }

    /// <summary>Sends one request carrying NLM_F_ACK and stamped <paramref name="sequence"/>,
    /// and reads until it is acked; replies on the way go to <paramref name="onReply"/>.</summary>
    public void Execute(string operation, ReadOnlySpan<byte> request, uint sequence, NetlinkMessageHandler? onReply = null) =>
        ExecuteBatch(operation, request, sequence, sequence, sequence, onReply);

    /// <summary>Sends several messages at once (an nfnetlink batch) stamped
    /// <paramref name="firstSequence"/>..<paramref name="lastSequence"/> and reads until the one
    /// stamped <paramref name="ackSequence"/> (sent with NLM_F_ACK) is acked. An error reported
    /// for any message in the range throws.</summary>
    public void ExecuteBatch(string operation, ReadOnlySpan<byte> request, uint firstSequence, uint lastSequence, uint ackSequence, NetlinkMessageHandler? onReply = null)
    {
        Send(operation, request);
        ReadReplies(operation, firstSequence, lastSequence, ackSequence, isDump: false, notFoundIsAnswer: false, onReply);
    }

    /// <summary><see cref="Execute"/> for a question whose usual answer is "no such object"
    /// (ENOENT, ENODEV, ESRCH, and <paramref name="alsoNotFound"/> when the question has its own,
    /// such as a route lookup's ENETUNREACH): returns false for it instead of throwing. The plugin
    /// asks such questions on every ADD, and the first exception a native-AOT process throws
    /// faults in the unwinder and its tables.</summary>
    public bool TryExecute(string operation, ReadOnlySpan<byte> request, uint sequence, NetlinkMessageHandler? onReply = null, int alsoNotFound = 0)
    {
        Send(operation, request);
        return ReadReplies(operation, sequence, sequence, sequence, isDump: false, notFoundIsAnswer: true, onReply, alsoNotFound) != ReplyOutcome.NotFound;
    }

    /// <summary>Sends one NLM_F_DUMP request and passes every message up to NLMSG_DONE to
    /// <paramref name="onMessage"/>. Returns false when the kernel flagged the dump as
    /// inconsistent (NLM_F_DUMP_INTR: the table changed meanwhile); the caller retries.</summary>
    public bool Dump(string operation, ReadOnlySpan<byte> request, uint sequence, NetlinkMessageHandler onMessage)
    {
        Send(operation, request);
        return ReadReplies(operation, sequence, sequence, sequence, isDump: true, notFoundIsAnswer: false, onMessage) != ReplyOutcome.Inconsistent;
    }

    /// <summary>Waits (up to the socket's receive timeout) for one datagram of messages the kernel
    /// sends unasked (a multicast or NFLOG subscription) and hands each to <paramref name="onMessage"/>;
    /// false when none came.</summary>
    public bool TryReceive(string operation, NetlinkMessageHandler onMessage)
    {
        bool added = false;
        _handle.DangerousAddRef(ref added);
        int received;
        try
        {
            received = Syscalls.Receive(_handle.Fd, _receiveBuffer, out int errno);
            if (received < 0 && (errno == Errno.EAGAIN || errno == Errno.ENOBUFS)) return false; // timeout, or the kernel dropped some (rate, buffer)
            if (received < 0) throw NetlinkException.FromErrno($"{operation} (receive)", errno);
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
        foreach (var message in new NetlinkMessageReader(_receiveBuffer.AsSpan(0, Math.Min(received, _receiveBuffer.Length))))
            onMessage(message);
        return true;
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>Decodes an NLMSG_ERROR or NLMSG_DONE payload: the positive errno (0 = ack) and
    /// the extended-ack message when the kernel attached one.</summary>
    internal static int ParseError(in NetlinkMessage message, out string? detail)
    {
        ReadOnlySpan<byte> payload = message.Payload;
        detail = null;
        if (payload.Length < 4) return message.Type == NetlinkMessageType.Done ? 0 : Errno.EBADMSG;
        int errno = -MemoryMarshal.Read<int>(payload);
        if ((message.Flags & NetlinkMessageFlags.AckTlvs) == 0) return errno;
        int offset = 4;
        if (message.Type == NetlinkMessageType.Error)
        {
            // struct nlmsgerr echoes the request's header, and its payload unless capped.
            bool capped = (message.Flags & NetlinkMessageFlags.Capped) != 0 || payload.Length < 8;
            offset += NetlinkMessageWriter.Align(capped ? NetlinkMessageWriter.HeaderSize : (int)MemoryMarshal.Read<uint>(payload[4..]));
        }
        if (offset < payload.Length && NetlinkAttributeReader.TryFind(payload[offset..], ExtAckMessageAttribute, out var text))
            detail = text.GetString();
        return errno;
    }

    private enum ReplyOutcome { Complete, Inconsistent, NotFound }

    private ReplyOutcome ReadReplies(string operation, uint first, uint last, uint final, bool isDump, bool notFoundIsAnswer, NetlinkMessageHandler? handler, int alsoNotFound = 0)
    {
        bool consistent = true;
        while (true)
        {
            int length = ReceiveDatagram(operation);
            foreach (var message in new NetlinkMessageReader(_receiveBuffer.AsSpan(0, length)))
            {
                // Anything outside our range answers an earlier request that was abandoned
                // (its caller threw mid-dump); skip it rather than mistake it for ours.
                if (unchecked(message.Sequence - first) > unchecked(last - first)) continue;
                if ((message.Flags & NetlinkMessageFlags.DumpInterrupted) != 0) consistent = false;
                switch (message.Type)
                {
                    case NetlinkMessageType.Error:
                    case NetlinkMessageType.Done when isDump:
                        int errno = ParseError(message, out string? detail);
                        if (errno != 0 && notFoundIsAnswer && message.Sequence == final && (NetlinkException.MeansNotFound(errno) || errno == alsoNotFound)) return ReplyOutcome.NotFound;
                        if (errno != 0) throw NetlinkException.FromErrno(operation, errno, detail);
                        if (message.Sequence == final) return consistent ? ReplyOutcome.Complete : ReplyOutcome.Inconsistent;
                        break;
                    case NetlinkMessageType.Noop:
                    case NetlinkMessageType.Done:
                        break;
                    case NetlinkMessageType.Overrun:
                        throw new NetlinkException(operation, Errno.EBADMSG, "netlink overrun");
                    default:
                        handler?.Invoke(message);
                        break;
                }
            }
        }
    }

    private void Send(string operation, ReadOnlySpan<byte> request)
    {
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            int sent = Syscalls.Send(_handle.Fd, request, out int errno);
            if (sent < 0 && errno == Errno.EMSGSIZE && Syscalls.GrowSendBuffer(_handle.Fd, request.Length * 2 + 4096) == 0)
                sent = Syscalls.Send(_handle.Fd, request, out errno);
            if (sent < 0) throw NetlinkException.FromErrno($"{operation} (send)", errno);
            if (sent != request.Length) throw new NetlinkException($"{operation} (send)", Errno.EMSGSIZE, $"sent {sent} of {request.Length} bytes");
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    private int ReceiveDatagram(string operation)
    {
        bool added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            int received = Syscalls.Receive(_handle.Fd, _receiveBuffer, out int errno);
            if (received < 0 && errno == Errno.EAGAIN)
                throw new NetlinkException($"{operation} (receive)", errno, $"no kernel reply within {_receiveTimeout.TotalSeconds:0.###} s");
            if (received < 0) throw NetlinkException.FromErrno($"{operation} (receive)", errno);
            if (received > _receiveBuffer.Length)
                throw new NetlinkException($"{operation} (receive)", Errno.EMSGSIZE, $"reply of {received} bytes exceeds the {_receiveBuffer.Length}-byte buffer");
            return received;
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }
}
