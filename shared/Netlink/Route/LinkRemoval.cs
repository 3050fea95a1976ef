using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace CniEgress.Netlink.Route;

/// <summary>Deletes a link and returns as soon as the kernel has removed it, not when the deletion
/// request returns. The kernel announces a removal (RTM_DELLINK to RTNLGRP_LINK) once the link is
/// unlisted and its addresses, routes and neighbours are gone; the request itself returns one RCU
/// grace period later (~20 ms here, asleep in the rcu_barrier of netdev_run_todo), after work
/// that only frees memory. That wait finishes on a thread of its own, so a long-lived process
/// (the agent, on behalf of the plugin's DEL) can answer before it.</summary>
public static class LinkRemoval
{
    private const int RTNLGRP_LINK = 1;

    /// <summary>How often the wait for the announcement also looks whether the request has ended.</summary>
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(50);

    public enum Outcome
    {
        /// <summary>There was no link of this name.</summary>
        NoSuchLink,

        /// <summary>Deleted: the kernel announced the removal, the request may still be waiting.</summary>
        Announced,

        /// <summary>Deleted: the request ended before an announcement was seen (the kernel drops
        /// notifications when a listener's buffer is full).</summary>
        RequestEnded,
    }

    /// <exception cref="NetlinkException">the kernel refused the deletion, or neither announced the
    /// removal nor ended the request within <paramref name="timeout"/>.</exception>
    public static Outcome Delete(string name, TimeSpan timeout)
    {
        LinkMessages.ValidateName(name, nameof(name));
        using var events = NetlinkSocket.Open(NetlinkProtocol.Route);
        // Subscribed before the lookup, so a removal after it cannot go unseen.
        events.JoinGroup(RTNLGRP_LINK);
        events.SetReceiveTimeout(Slice);
        var client = RouteNetlinkClient.Open();
        LinkInfo? link;
        try
        {
            link = client.FindLink(name);
        }
        catch
        {
            client.Dispose();
            throw;
        }
        if (link == null)
        {
            client.Dispose();
            return Outcome.NoSuchLink;
        }
        var request = new DeletionRequest(client, link.Index);
        var clock = Stopwatch.StartNew();
        bool removed = false;
        while (!removed)
        {
            if (request.HasEnded)
            {
                request.Failure?.Throw();
                return Outcome.RequestEnded;
            }
            if (clock.Elapsed > timeout)
                throw new NetlinkException($"delete link {name}", Interop.Errno.ETIMEDOUT, $"the kernel neither removed it nor answered within {timeout.TotalSeconds:0.###} s");
            events.TryReceive($"watch the removal of link {name}", (in NetlinkMessage message) =>
            {
                if (message.Type == Rtnl.RTM_DELLINK && message.ReadHeader<IfInfoMessage>().Index == link.Index) removed = true;
            });
        }
        return Outcome.Announced;
    }

    /// <summary>RTM_DELLINK by index on its own thread, which owns (and disposes) the client.</summary>
    private sealed class DeletionRequest
    {
        private volatile bool ended;

        public DeletionRequest(RouteNetlinkClient client, int index)
        {
            new Thread(() =>
            {
                try
                {
                    using (client) client.DeleteLink(index);
                }
                catch (NetlinkNotFoundException)
                {
                    // Someone else deleted it first: removed all the same.
                }
                catch (NetlinkException e)
                {
                    Failure = ExceptionDispatchInfo.Capture(e);
                }
                ended = true;
            }) { IsBackground = true, Name = "link-deletion" }.Start();
        }

        public bool HasEnded => ended;

        /// <summary>The kernel's refusal, once ended; null when it deleted the link.</summary>
        public ExceptionDispatchInfo? Failure { get; private set; }
    }
}
