using System.Net;

namespace CniEgress.Netlink.Conntrack;

/// <summary>A tracked connection as its first packet went: who opened it, to where, on which port.</summary>
public readonly record struct ConntrackFlow(IPAddress Source, IPAddress Destination, byte Protocol, ushort SourcePort, ushort DestinationPort)
{
    public override string ToString() => $"{Protocol} {Source}:{SourcePort} -> {Destination}:{DestinationPort}";
}
