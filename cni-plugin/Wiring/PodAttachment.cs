using System.Net.NetworkInformation;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Wiring;

/// <summary>What to wire for one pod interface: pod addresses are host routes (/32, /128).</summary>
public sealed record PodAttachment(
    string HostName,
    string PodIfName,
    PhysicalAddress PodMac,
    int Mtu,
    IReadOnlyList<InterfaceAddress> Addresses);
