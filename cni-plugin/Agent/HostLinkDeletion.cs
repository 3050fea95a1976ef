using System.Text;
using CniEgress.CniPlugin.Config;
using CniEgress.CniPlugin.Verbs;
using CniEgress.CniPlugin.Wiring;
using CniEgress.Interop;
using CniEgress.Netlink.Route;

namespace CniEgress.CniPlugin.Agent;

/// <summary>DEL's removal of the pod's host veth (which takes the pod's end, routes and neighbours
/// with it). The kernel's deletion request sleeps one RCU grace period (~20 ms) after the link is
/// gone, and a process cannot exit while a thread of it waits there. So when an agent is
/// configured, it is asked to delete the link (`{"deleteLink": name}`) and answers once the link
/// is gone, leaving that wait to a process that lives on. Without an agent, or when it cannot
/// (not serving yet, refused, no answer), the plugin deletes the link itself, on its own thread
/// beside the rest of DEL.</summary>
public sealed class HostLinkDeletion : IDisposable
{
    /// <summary>Beyond the agent's own bound on a deletion (5 s), so its answer is not cut short.</summary>
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(6);

    private readonly string hostName;
    private UnixSocketExchange? agent;
    private BackgroundWork? own;

    private HostLinkDeletion(string hostName, UnixSocketExchange? agent)
    {
        this.hostName = hostName;
        this.agent = agent;
        if (agent == null) own = BackgroundWork.Start(DeleteHere);
    }

    public static HostLinkDeletion Start(NetworkConfig config, string hostName)
    {
        if (config.PolicyAgent == PolicyAgentMode.Off) return new(hostName, null);
        try
        {
            return new(hostName, UnixSocketExchange.Send(config.AgentSocket, Request(hostName), ReplyTimeout));
        }
        catch (UnixSocketException)
        {
            return new(hostName, null);
        }
    }

    /// <summary>Returns once the link is gone.</summary>
    /// <exception cref="Netlink.NetlinkException">the kernel refused the plugin's own deletion.</exception>
    public void Wait()
    {
        if (agent != null)
        {
            bool deleted;
            try
            {
                deleted = AgentHandshake.ReadReply(agent.ReadReply()).Ok;
            }
            catch (UnixSocketException)
            {
                deleted = false;
            }
            agent.Dispose();
            agent = null;
            if (!deleted) DeleteHere();
        }
        own?.Wait();
    }

    public void Dispose()
    {
        agent?.Dispose();
        own?.Dispose();
    }

    private void DeleteHere()
    {
        using var host = RouteNetlinkClient.Open();
        PodWiring.Disconnect(host, hostName);
    }

    /// <summary>The name is ours ("ceg" and hex digits), so it needs no JSON escaping.</summary>
    private static byte[] Request(string hostName) => Encoding.ASCII.GetBytes("{\"deleteLink\":\"" + hostName + "\"}\n");
}
