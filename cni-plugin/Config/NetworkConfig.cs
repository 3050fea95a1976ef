using System.Net;
using System.Text.Json.Nodes;
using CniEgress.CniPlugin.Cni;

namespace CniEgress.CniPlugin.Config;

/// <summary>The plugin's network configuration (one plugin entry of a conflist, as the runtime
/// hands it over on stdin). <see cref="Raw"/> keeps every key, known or not, so delegation to an
/// IPAM plugin passes the config through unchanged, as SPEC.md requires.</summary>
public sealed record NetworkConfig(
    JsonObject Raw,
    CniVersion Version,
    string Name,
    string Type,
    int? Mtu,
    bool IpMasq,
    IReadOnlyList<IPNetwork> ClusterCidrs,
    string StateDir,
    string? LogFile,
    string IpamType,
    JsonObject Ipam,
    CniResult? PrevResult,
    IReadOnlyList<AttachmentKey>? ValidAttachments)
{
    public const string DefaultStateDir = "/run/cni-egress";

    /// <summary>ipam.type that selects the in-process allocator instead of exec'ing a plugin.</summary>
    public const string BuiltinIpamType = "cni-egress";

    public bool UsesBuiltinIpam => IpamType == BuiltinIpamType;
}

public readonly record struct AttachmentKey(string ContainerId, string IfName);
