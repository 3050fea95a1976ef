namespace CniEgress.PolicyAgent.Policy;

/// <summary>NetworkPolicy protocol names and their IP protocol numbers.</summary>
public static class Protocols
{
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Sctp = 132;

    public static bool TryParse(string? name, out byte protocol)
    {
        protocol = name switch { null or "" or "TCP" => Tcp, "UDP" => Udp, "SCTP" => Sctp, _ => 0 };
        return protocol != 0;
    }

    public static string Name(byte protocol) => protocol switch { Tcp => "tcp", Udp => "udp", Sctp => "sctp", _ => protocol.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}
