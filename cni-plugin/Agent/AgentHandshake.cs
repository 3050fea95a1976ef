using System.Text.Json;
using CniEgress.Interop;
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
        string reply;
        try
        {
            reply = UnixSocketExchange.Exchange(config.AgentSocket, Request(containerId, ifName), ReplyTimeout);
        }
        catch (UnixSocketException e)
        {
            if (config.PolicyAgent == PolicyAgentMode.BestEffort) return;
            throw new CniException(CniErrorCode.TryAgainLater,
                $"policy agent not reachable at {config.AgentSocket} ({e.Message}): the pod would run without its NetworkPolicy, so ADD fails and will be retried",
                "start egress-agent, or set \"policyAgent\": \"best-effort\" to start pods without waiting for it");
        }
        var (ok, error) = ReadReply(reply);
        if (ok) return;
        if (config.PolicyAgent == PolicyAgentMode.BestEffort) return;
        throw new CniException(CniErrorCode.TryAgainLater, $"policy agent could not enforce the pod's policy: {error ?? "no answer"}");
    }

    /// <summary>`{"ok": true}` or `{"ok": false, "error": "..."}`; anything else is no answer.</summary>
    private static (bool Ok, string? Error) ReadReply(string reply)
    {
        if (reply.Length == 0) return (false, null);
        try
        {
            using var document = JsonDocument.Parse(reply);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (false, null);
            bool ok = root.TryGetProperty("ok", out var flag) && flag.ValueKind == JsonValueKind.True;
            string? error = root.TryGetProperty("error", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
            return (ok, error);
        }
        catch (JsonException)
        {
            return (false, null);
        }
    }

    private static byte[] Request(string containerId, string ifName)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("containerId", containerId);
            writer.WriteString("ifName", ifName);
            writer.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }
}
