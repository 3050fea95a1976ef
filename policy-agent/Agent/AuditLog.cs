using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using CniEgress.Netlink.Nflog;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>What the audit log needs to name a denied packet: the pod behind each host interface,
/// and the policies behind each class chain. Published by the main loop after each change.</summary>
public sealed record AuditView(IReadOnlyDictionary<string, string> PodOfInterface, IReadOnlyDictionary<string, IReadOnlyList<string>> PoliciesOfChain)
{
    public static readonly AuditView Empty = new(new Dictionary<string, string>(), new Dictionary<string, IReadOnlyList<string>>());
}

/// <summary>The audit log of denied egress: reads the ruleset's NFLOG group (rate limited in the
/// kernel) and writes one line per denied packet naming the pod, the destination, the protocol
/// and port, and the policies that isolate the pod without allowing it.</summary>
public sealed class AuditLog : IDisposable
{
    private readonly Action<string> log;
    private readonly Thread thread;
    private readonly Dictionary<int, string> interfaceNames = [];
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

    private string Describe(NflogPacket packet) => Describe(view, InterfaceName(packet.InputInterfaceIndex), packet);

    /// <summary>"denied egress: ns/pod (ceg…) -> 203.0.113.10:80/tcp; isolated by ns/policy, which allow nothing of the kind".</summary>
    public static string Describe(AuditView current, string iface, NflogPacket packet)
    {
        string pod = current.PodOfInterface.TryGetValue(iface, out var known) ? known : "unknown pod";
        string chain = packet.Prefix.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) ?? "";
        string policies = current.PoliciesOfChain.TryGetValue(chain, out var list) ? string.Join(", ", list) : "(class " + chain + ")";
        return $"denied egress: {pod} ({iface}) -> {Destination(packet.Payload)}; isolated by {policies}, which allow nothing of the kind";
    }

    /// <summary>address:port/protocol from the packet's network and transport headers.</summary>
    public static string Destination(byte[] payload)
    {
        if (payload.Length < 20) return "?";
        bool ipv6 = payload[0] >> 4 == 6;
        if (ipv6 && payload.Length < 40) return "?";
        var address = ipv6 ? new IPAddress(payload.AsSpan(24, 16)) : new IPAddress(payload.AsSpan(16, 4));
        byte protocol = ipv6 ? payload[6] : payload[9];
        int transport = ipv6 ? 40 : (payload[0] & 0x0f) * 4;
        string name = protocol switch { 6 => "tcp", 17 => "udp", 132 => "sctp", 1 => "icmp", 58 => "icmpv6", _ => protocol.ToString(CultureInfo.InvariantCulture) };
        if (protocol is 6 or 17 or 132 && payload.Length >= transport + 4)
            return ipv6
                ? string.Create(CultureInfo.InvariantCulture, $"[{address}]:{BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(transport + 2))}/{name}")
                : string.Create(CultureInfo.InvariantCulture, $"{address}:{BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(transport + 2))}/{name}");
        return $"{address}/{name}";
    }

    /// <summary>ifindex to name from /sys/class/net (of this namespace), reread when an index is new.</summary>
    private string InterfaceName(int index)
    {
        if (interfaceNames.TryGetValue(index, out var name)) return name;
        interfaceNames.Clear();
        foreach (string dir in Directory.EnumerateDirectories("/sys/class/net"))
        {
            try
            {
                if (int.TryParse(File.ReadAllText(Path.Combine(dir, "ifindex")).Trim(), CultureInfo.InvariantCulture, out int i))
                    interfaceNames[i] = Path.GetFileName(dir);
            }
            catch (IOException) { }
        }
        return interfaceNames.GetValueOrDefault(index, $"ifindex {index}");
    }
}
