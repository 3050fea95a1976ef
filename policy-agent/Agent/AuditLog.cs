using CniEgress.Netlink.Nflog;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>What the audit log needs to name a denied packet: the pod behind each host interface,
/// and the policies behind each class chain. Published by the main loop after each change.</summary>
public sealed record AuditView(IReadOnlyDictionary<string, Policy.LocalPod> PodOfInterface, IReadOnlyDictionary<string, IReadOnlyList<string>> PoliciesOfChain)
{
    public static readonly AuditView Empty = new(new Dictionary<string, Policy.LocalPod>(), new Dictionary<string, IReadOnlyList<string>>());
}

/// <summary>The audit log of denied connections: reads the ruleset's NFLOG group (rate limited in
/// the kernel) and writes one line per denied packet naming the side, the pod, the peer, the
/// protocol and port, and the policies that isolate the pod without allowing it.</summary>
public sealed class AuditLog : IDisposable
{
    private readonly Action<string> log;
    private readonly Thread thread;
    private readonly Diagnostics.InterfaceNames interfaceNames = new();
    private volatile AuditView view = AuditView.Empty;
    private volatile bool stopping;

    public AuditLog(int group, Action<string> log)
    {
        this.log = log;
        thread = new Thread(() => Run(group)) { IsBackground = true, Name = "audit-log" };
        thread.Start();
    }

    public void Publish(AuditView next) => view = next;

    public void Dispose() => stopping = true;

    private void Run(int group)
    {
        NflogListener listener;
        try { listener = NflogListener.Bind((ushort)group); }
        catch (CniEgress.Netlink.NetlinkException e)
        {
            log($"audit log off: cannot bind NFLOG group {group}: {e.Message}");
            return;
        }
        using (listener)
        {
            while (!stopping)
            {
                try { listener.TryReceive(packet => log(Describe(packet))); }
                catch (CniEgress.Netlink.NetlinkException e) { log("audit log: " + e.Message); }
            }
        }
    }

    /// <summary>The pod is the packet's input interface on egress, its output interface on ingress.</summary>
    private string Describe(NflogPacket packet)
    {
        bool ingress = Nftables.SlotNames.DirectionOf(Chain(packet)) == Policy.Direction.Ingress;
        return Describe(view, interfaceNames.Of(ingress ? packet.OutputInterfaceIndex : packet.InputInterfaceIndex), packet);
    }

    /// <summary>"denied egress: ns/pod (ceg…) -> 203.0.113.10:80/tcp; isolated by ns/policy, which allow nothing of the kind",
    /// or "denied ingress: ns/pod (ceg…) <- 203.0.113.10 to :80/tcp; ...".</summary>
    public static string Describe(AuditView current, string iface, NflogPacket packet)
    {
        string pod = current.PodOfInterface.TryGetValue(iface, out var known) ? $"{known.Namespace}/{known.Name}" : "unknown pod";
        string chain = Chain(packet);
        string policies = current.PoliciesOfChain.TryGetValue(chain, out var list) ? string.Join(", ", list) : "(class " + chain + ")";
        string what = Nftables.SlotNames.DirectionOf(chain) == Policy.Direction.Ingress
            ? $"denied ingress: {pod} ({iface}) <- {Diagnostics.FlowTuple.Of(packet.Payload)?.Source.ToString() ?? "?"} to {Destination(packet.Payload)}"
            : $"denied egress: {pod} ({iface}) -> {Destination(packet.Payload)}";
        return $"{what}; isolated by {policies}, which allow nothing of the kind";
    }

    private static string Chain(NflogPacket packet) => packet.Prefix.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) ?? "";

    /// <summary>address:port/protocol from the packet's network and transport headers.</summary>
    public static string Destination(byte[] payload) => Diagnostics.FlowTuple.Of(payload)?.DestinationText ?? "?";
}
