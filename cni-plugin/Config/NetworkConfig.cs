using System.Net;
using System.Text.Json;
using CniEgress.CniPlugin.Cni;

namespace CniEgress.CniPlugin.Config;

/// <summary>The plugin's network configuration (one plugin entry of a conflist, as the runtime
/// hands it over on stdin). <see cref="Raw"/> keeps every key, known or not, so delegation to an
/// IPAM plugin passes the config through unchanged, as SPEC.md requires.</summary>
public sealed record NetworkConfig(
    JsonElement Raw,
    CniVersion Version,
    string Name,
    string Type,
    int? Mtu,
    bool IpMasq,
    IReadOnlyList<IPNetwork> ClusterCidrs,
    string StateDir,
    string? LogFile,
    string IpamType,
    JsonElement Ipam,
    CniResult? PrevResult,
    IReadOnlyList<AttachmentKey>? ValidAttachments,
    PolicyAgentMode PolicyAgent = PolicyAgentMode.Required)
{
    /// <summary>Where the policy agent listens for ADDs announcing their pods.</summary>
    public string AgentSocket => System.IO.Path.Combine(StateDir, "agent.sock");

    public const string DefaultStateDir = "/run/cni-egress";

    /// <summary>ipam.type that selects the in-process allocator instead of exec'ing a plugin.</summary>
    public const string BuiltinIpamType = "cni-egress";

    public bool UsesBuiltinIpam => IpamType == BuiltinIpamType;
}

public readonly record struct AttachmentKey(string ContainerId, string IfName);

/// <summary>What ADD does about the policy agent (`policyAgent` in the config).</summary>
public enum PolicyAgentMode
{
    /// <summary>ADD returns only once the agent has the pod's policy in the kernel; an unreachable
    /// agent fails the ADD with code 11 and kubelet retries. The default: no pod ever runs
    /// before its policy.</summary>
    Required,

    /// <summary>Waits for the agent when it answers, starts the pod anyway when it does not. Risk: a
    /// pod that starts while the agent is down runs without its NetworkPolicy until the agent is back.</summary>
    BestEffort,

    /// <summary>No agent (the plugin alone, as in its own tests).</summary>
    Off,
}
