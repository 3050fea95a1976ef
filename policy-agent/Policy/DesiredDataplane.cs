using CniEgress.Net;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>The compiler's output: what the kernel must hold, and nothing about how to put it
/// there. Sorted throughout, so equal inputs give equal (and diffable) outputs.
/// <see cref="ClassOfInterface"/> and <see cref="Classes"/> are the egress side (what each
/// isolated pod may send to); <see cref="Ingress"/> is what each may receive.</summary>
public sealed record DesiredDataplane(
    IReadOnlyList<PodSource> PodSources,
    IReadOnlyDictionary<string, string> ClassOfInterface,
    IReadOnlyDictionary<string, PolicyClass> Classes,
    IReadOnlyList<PolicyProblem> Problems)
{
    public IngressClasses Ingress { get; init; } = IngressClasses.None;
}

/// <summary>The ingress side: the class of each local pod a policy isolates for ingress, and per
/// class the sources it accepts (<see cref="PolicyClass.AnyTraffic"/>: on every port; its boxes:
/// (source, protocol, port range) with the pod's own named ports resolved).</summary>
public sealed record IngressClasses(IReadOnlyDictionary<string, string> ClassOfInterface, IReadOnlyDictionary<string, PolicyClass> Classes)
{
    public static readonly IngressClasses None = new(new Dictionary<string, string>(), new Dictionary<string, PolicyClass>());

    /// <summary>Whether a new connection from <paramref name="source"/> to the pod behind
    /// <paramref name="hostInterface"/> is let in (replies of allowed connections always are).</summary>
    public bool Allows(string hostInterface, System.Net.IPAddress source, byte protocol, int port)
    {
        if (!ClassOfInterface.TryGetValue(hostInterface, out var id)) return true;
        var accepted = Classes[id];
        return accepted.AnyTraffic.Any(r => r.Contains(source)) || accepted.Ports.Any(b => b.Contains(source, protocol, port));
    }
}

/// <summary>A local pod's interface and one address it may send from (anti-spoofing).</summary>
public sealed record PodSource(string HostInterface, System.Net.IPAddress Address)
{
    /// <summary>The dataplane's order: by interface (ordinal), then address (IPv4 first). The
    /// compiler keeps an unchanged source as the same object, which a walk over two versions meets
    /// at every step.</summary>
    public static readonly IComparer<PodSource> Order = Comparer<PodSource>.Create((a, b) =>
        ReferenceEquals(a, b) ? 0
        : string.CompareOrdinal(a.HostInterface, b.HostInterface) is var c && c != 0 ? c
        : CniEgress.Net.AddressRange.Host(a.Address).CompareTo(CniEgress.Net.AddressRange.Host(b.Address)));
}

/// <summary>The traffic allowed to every pod selected by the same set of policies, in one
/// direction. <see cref="AnyTraffic"/>: peers (destinations on egress, sources on ingress) open
/// on every protocol and port; <see cref="Ports"/>: disjoint (peer, protocol, port range) boxes,
/// as nftables interval sets need them.</summary>
public sealed record PolicyClass(string Id, IReadOnlyList<string> Policies, IReadOnlyList<AddressRange> AnyTraffic, IReadOnlyList<PortBox> Ports)
{
    public static string IdFor(IReadOnlyList<string> policies) =>
        "c" + Convert.ToHexStringLower(System.IO.Hashing.XxHash3.Hash(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', policies))))[..12];
}

/// <summary><see cref="Destination"/> is the peer: the source, on the ingress side.</summary>
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
