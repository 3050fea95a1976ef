using System.Globalization;
using System.Net;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Diagnostics;

/// <summary>The destination of `explain --to`: an address or a pod (NS/POD), then an optional
/// :PORT and /PROTO (tcp by default). IPv6 with a port is bracketed: [fd00::5]:80/udp.</summary>
public sealed record FlowTarget(IPAddress? Address, string? Pod, int? Port, byte Protocol)
{
    public static FlowTarget Parse(string text)
    {
        string host = text, rest = "";
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) throw new QueryException($"'{text}': a bracketed IPv6 address needs its ']'");
            host = text[1..close];
            rest = text[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':') throw new QueryException($"'{text}': expected ':PORT' after ']'");
            rest = rest.TrimStart(':');
        }
        else if (!IPAddress.TryParse(text, out _))
        {
            int colon = text.LastIndexOf(':');
            if (colon >= 0) (host, rest) = (text[..colon], text[(colon + 1)..]);
        }
        int? port = null;
        byte protocol = Protocols.Tcp;
        if (rest.Length > 0)
        {
            string[] parts = rest.Split('/', 2);
            if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number is < 1 or > 65535)
                throw new QueryException($"'{parts[0]}' is not a port (1-65535)");
            port = number;
            if (parts.Length == 2 && !Protocols.TryParse(parts[1].ToUpperInvariant(), out protocol))
                throw new QueryException($"'{parts[1]}' is not a protocol (tcp, udp, sctp)");
        }
        if (IPAddress.TryParse(host, out var address)) return new(address, null, port, protocol);
        if (host.Split('/') is [{ Length: > 0 }, { Length: > 0 }]) return new(null, host, port, protocol);
        throw new QueryException($"'{text}' is neither an address nor NAMESPACE/POD (with :PORT[/PROTO])");
    }
}

/// <summary>A question the node cannot answer as asked (unknown pod, bad address): one line for the operator.</summary>
public sealed class QueryException(string message) : Exception(message);
