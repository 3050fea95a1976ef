using System.Net;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Cni;

/// <summary>A version-neutral ADD result; <see cref="CniResultJson"/> renders it per version.</summary>
public sealed record CniResult(
    IReadOnlyList<CniInterface> Interfaces,
    IReadOnlyList<CniIpConfig> Ips,
    IReadOnlyList<CniRoute> Routes,
    System.Text.Json.JsonElement? Dns)
{
    public static CniResult Empty { get; } = new([], [], [], null);
}

public sealed record CniInterface(string Name, string? Mac, string? Sandbox, int? Mtu = null);

/// <summary>InterfaceIndex points into <see cref="CniResult.Interfaces"/>.</summary>
public sealed record CniIpConfig(InterfaceAddress Address, IPAddress? Gateway, int? InterfaceIndex);

public sealed record CniRoute(IPNetwork Destination, IPAddress? Gateway);
