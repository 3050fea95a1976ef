using System.Text.Json;
using CniEgress.Interop;
using CniEgress.Json;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;

namespace CniEgress.CniPlugin.Agent;

/// <summary>Tells the policy agent about the attachment (its record, with the pod's addresses,
/// is already on disk) and waits until the agent says the pod's policy is in the kernel, so the
/// container never runs a moment without it. The announcement goes out before the veth is
/// wired and the reply is read after: the agent's kernel work overlaps ours, and the rules for
/// the pod's interface exist before the interface does.</summary>
public sealed class AgentHandshake : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly NetworkConfig config;
    private readonly UnixSocketExchange? exchange;

    private AgentHandshake(NetworkConfig config, UnixSocketExchange? exchange)
    {
        this.config = config;
        this.exchange = exchange;
    }

    /// <summary>Sends the announcement (nothing with `policyAgent: off`).</summary>
    /// <exception cref="CniException">code 11: the agent is required and cannot be reached.</exception>
    public static AgentHandshake Begin(NetworkConfig config, string containerId, string ifName)
    {
        if (config.PolicyAgent == PolicyAgentMode.Off) return new(config, null);
        try
        {
            return new(config, UnixSocketExchange.Send(config.AgentSocket, Request(containerId, ifName), ReplyTimeout));
        }
        catch (UnixSocketException e)
        {
            if (config.PolicyAgent == PolicyAgentMode.BestEffort) return new(config, null);
            throw Unreachable(config, e);
        }
    }

    /// <summary>Waits for the agent's answer.</summary>
    /// <exception cref="CniException">code 11: the agent is required and did not enforce the pod's policy.</exception>
    public void Complete()
    {
        if (exchange == null) return;
        bool ok;
        string? error;
        try
        {
            (ok, error) = ReadReply(exchange.ReadReply());
        }
        catch (UnixSocketException e)
        {
            if (config.PolicyAgent == PolicyAgentMode.BestEffort) return;
            throw Unreachable(config, e);
        }
        if (ok) return;
        if (config.PolicyAgent == PolicyAgentMode.BestEffort) return;
        throw new CniException(CniErrorCode.TryAgainLater, $"policy agent could not enforce the pod's policy: {error ?? "no answer"}");
    }

    public void Dispose() => exchange?.Dispose();

    private static CniException Unreachable(NetworkConfig config, UnixSocketException e) => new(CniErrorCode.TryAgainLater,
        $"policy agent not reachable at {config.AgentSocket} ({e.Message}): the pod would run without its NetworkPolicy, so ADD fails and will be retried",
        "start egress-agent, or set \"policyAgent\": \"best-effort\" to start pods without waiting for it");

    /// <summary>`{"ok": true}` or `{"ok": false, "error": "..."}`; anything else is no answer.</summary>
    internal static (bool Ok, string? Error) ReadReply(ReadOnlySpan<byte> reply)
    {
        try
        {
            // A reader, not a JsonDocument: disposing a document returns two pooled buffers, and the
            // second spills the shared ArrayPool (~0.27 ms of every ADD here; see InterfaceAddress.TryFormat).
            var reader = new Utf8JsonReader(reply);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return (false, null);
            bool ok = false;
            string? error = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string? name = reader.GetString();
                if (!reader.Read()) return (false, null);
                if (name == "ok") ok = reader.TokenType == JsonTokenType.True;
                else if (name == "error" && reader.TokenType == JsonTokenType.String) error = reader.GetString();
                else reader.Skip();
            }
            // Nothing may follow the object (reading on throws at anything but whitespace).
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? (ok, error) : (false, null);
        }
        catch (JsonException)
        {
            return (false, null);
        }
    }

    private static byte[] Request(string containerId, string ifName)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, AsciiJsonEncoder.WriterOptions(indented: false)))
        {
            writer.WriteStartObject();
            writer.WriteString("containerId", containerId);
            writer.WriteString("ifName", ifName);
            writer.WriteEndObject();
        }
        return [.. buffer.WrittenSpan, (byte)'\n'];
    }
}
