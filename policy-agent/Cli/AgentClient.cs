using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>Asks the running agent one question over its local socket (the one CNI ADDs use).</summary>
public static class AgentClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>The agent's answer, or null with <paramref name="why"/> when no agent answers there.</summary>
    public static JsonObject? Ask(string socketPath, JsonObject question, out string? why)
    {
        why = null;
        if (!File.Exists(socketPath))
        {
            why = $"no agent socket at {socketPath}";
            return null;
        }
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            SendTimeout = (int)Timeout.TotalMilliseconds,
            ReceiveTimeout = (int)Timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.Send(Encoding.UTF8.GetBytes(question.ToJsonString() + "\n"));
            using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? line = reader.ReadLine();
            if (line != null && JsonNode.Parse(line) is JsonObject answer) return answer;
            why = "the agent closed the connection without an answer";
        }
        catch (SocketException e)
        {
            why = e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => $"no agent listens on {socketPath} (stopped, or still on its first sync)",
                SocketError.AccessDenied => $"permission denied on {socketPath} (the agent's socket is root only)",
                SocketError.TimedOut => $"the agent did not answer within {Timeout.TotalSeconds:0} s",
                _ => $"{socketPath}: {e.Message}",
            };
        }
        catch (IOException e)
        {
            why = $"{socketPath}: {e.Message}";
        }
        catch (System.Text.Json.JsonException e)
        {
            why = "the agent's answer is not JSON: " + e.Message;
        }
        return null;
    }
}
