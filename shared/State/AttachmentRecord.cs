namespace CniEgress.State;

/// <summary>One pod interface on this node, as the CNI plugin wired it. The policy agent reads
/// these to know local pods from their ADD on, before the API server reports their IPs.</summary>
public sealed record AttachmentRecord
{
    public required string ContainerId { get; init; }
    public required string IfName { get; init; }
    public required string Network { get; init; }
    public string? NetnsPath { get; init; }
    public required string HostInterface { get; init; }
    public string? PodNamespace { get; init; }
    public string? PodName { get; init; }
    public string? PodUid { get; init; }
    /// <summary>Addresses with prefix ("10.244.1.5/32"); empty while the ADD is still in flight.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];
    public required string IpamType { get; init; }
    public bool Masquerade { get; init; }
    /// <summary>False from the moment an ADD starts until it has finished wiring; GC treats an
    /// incomplete record of an invalid attachment like any other.</summary>
    public bool Complete { get; init; }
    public DateTimeOffset Created { get; init; }
}
