using System.Runtime.CompilerServices;
using SharpPcap.LibPcap;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>Opens libpcap devices by name through SharpPcap.</summary>
public static class PcapDevices
{
    /// <summary>An interface of this network namespace (a pod's host veth).</summary>
    public static LibPcapLiveDevice Interface(string name) =>
        new(All().FirstOrDefault(i => i.Name == name) ?? throw new CliException($"libpcap does not see interface {name}"));

    /// <summary>libpcap's nflog device for one group ("nflog:GROUP"). pcap_findalldevs lists only
    /// "nflog" (group 0) and SharpPcap builds devices only from that list, so the listed one is
    /// renamed: libpcap opens whatever name the handle is created with.</summary>
    public static LibPcapLiveDevice Nflog(int group)
    {
        var nflog = All().FirstOrDefault(i => i.Name == "nflog")
            ?? throw new CliException("this machine's libpcap has no nflog device (Linux netfilter support)");
        SetName(nflog, "nflog:" + group.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new LibPcapLiveDevice(nflog);
    }

    private static IReadOnlyList<PcapInterface> All()
    {
        try { return PcapInterface.GetAllPcapInterfaces(); }
        catch (DllNotFoundException) { throw new CliException("libpcap is not installed (apt-get install libpcap0.8)"); }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_Name")]
    private static extern void SetName(PcapInterface target, string name);
}
