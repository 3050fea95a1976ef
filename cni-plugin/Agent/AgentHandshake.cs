using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;

namespace CniEgress.CniPlugin.Agent;

/// <summary>The last step of ADD: tell the policy agent about the attachment (its record is
/// already on disk) and wait until the agent says the pod's policy is in the kernel, so the
/// container never runs a moment without it.</summary>
public static class AgentHandshake
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    public static void Announce(NetworkConfig config, string containerId, string ifName)
    {
        if (config.PolicyAgent == PolicyAgentMode.Off) return;
        string? reply;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.ReceiveTimeout = socket.SendTimeout = (int)ReplyTimeout.TotalMilliseconds;
            socket.Connect(new UnixDomainSocketEndPoint(config.AgentSocket));
            var request = new JsonObject { ["containerId"] = containerId, ["ifName"] = ifName };
            socket.Send(Encoding.UTF8.GetBytes(request.ToJsonString() + "\n"));
            reply = ReadLine(socket);
        }
        catch (SocketException e)
        {
            if (config.PolicyAgent == PolicyAgentMode.BestEffort) return;
            throw new CniException(CniErrorCode.TryAgainLater,
                $"policy agent not reachable at {config.AgentSocket} ({e.SocketErrorCode}): the pod would run without its NetworkPolicy, so ADD fails and will be retried",
                "start egress-agent, or set \"policyAgent\": \"best-effort\" to start pods without waiting for it");
        }
        JsonObject? answer;
        try { answer = reply == null ? null : JsonNode.Parse(reply) as JsonObject; }
        catch (System.Text.Json.JsonException) { answer = null; }
        if (answer?["ok"]?.GetValue<bool>() == true) return;
        if (config.PolicyAgent == PolicyAgentMode.BestEffort) return;
        throw new CniException(CniErrorCode.TryAgainLater, $"policy agent could not enforce the pod's policy: {(string?)answer?["error"] ?? "no answer"}");
    }

    private static string? ReadLine(Socket socket)
    {
        var buffer = new byte[4096];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            if (read == 0) break;
            length += read;
            if (Array.IndexOf(buffer, (byte)'\n', 0, length) >= 0) break;
        }
        return length == 0 ? null : Encoding.UTF8.GetString(buffer, 0, length).Trim();
    }
}
