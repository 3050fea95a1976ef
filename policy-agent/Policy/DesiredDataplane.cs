using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>The compiler's output: what the kernel must hold, and nothing about how to put it
/// there. Sorted throughout, so equal inputs give equal (and diffable) outputs.</summary>
public sealed record DesiredDataplane(
    IReadOnlyList<PodSource> PodSources,
    IReadOnlyDictionary<string, string> ClassOfInterface,
    IReadOnlyDictionary<string, EgressClass> Classes,
    IReadOnlyList<PolicyProblem> Problems);

/// <summary>A local pod's interface and one address it may send from (anti-spoofing).</summary>
public sealed record PodSource(string HostInterface, System.Net.IPAddress Address);

/// <summary>The allowed egress shared by every pod selected by the same set of policies.
/// <see cref="AnyTraffic"/>: destinations open on every protocol and port; <see cref="Ports"/>:
/// disjoint (destination, protocol, port range) boxes, as nftables interval sets need them.</summary>
public sealed record EgressClass(string Id, IReadOnlyList<string> Policies, IReadOnlyList<AddressRange> AnyTraffic, IReadOnlyList<PortBox> Ports)
{
    public static string IdFor(IReadOnlyList<string> policies) =>
        "c" + Convert.ToHexStringLower(System.IO.Hashing.XxHash3.Hash(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', policies))))[..12];
}

public readonly record struct PortBox(AddressRange Destination, byte Protocol, ushort FirstPort, ushort LastPort)
{
    public bool Contains(System.Net.IPAddress destination, byte protocol, int port) =>
        Protocol == protocol && FirstPort <= port && port <= LastPort && Destination.Contains(destination);
}

/// <summary>A part of a policy that could not be compiled; it allows nothing.</summary>
public sealed record PolicyProblem(string Policy, string Field, string Problem)
{
    public override string ToString() => $"networkpolicy {Policy}: {Field}: {Problem}";
}
