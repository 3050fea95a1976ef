using System.Net;
using System.Net.NetworkInformation;
using CniEgress.Net;

namespace CniEgress.Netlink.Route;

public sealed partial class RouteNetlinkClient
{
    /// <summary>Adds an address; <paramref name="noDad"/> sets IFA_F_NODAD (IPv6 only: usable at once).</summary>
    /// <exception cref="NetlinkAlreadyExistsException">the link already has this address.</exception>
    /// <exception cref="NetlinkNotFoundException">no link has this index.</exception>
    public void AddAddress(int index, InterfaceAddress address, bool noDad)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        Execute($"add address {address} to link #{index}",
            (writer, sequence) => AddressMessages.NewAddress(writer, sequence, index, address, noDad));
    }

    /// <summary>Every address of the link, IPv4 and IPv6 (including the kernel's fe80:: one).</summary>
    /// <exception cref="NetlinkNotFoundException">no link has this index.</exception>
    public IReadOnlyList<InterfaceAddress> ListAddresses(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        return Dump($"list addresses of link #{index}",
            (writer, sequence) => AddressMessages.DumpAddresses(writer, sequence, index),
            (in NetlinkMessage message, out InterfaceAddress address) =>
                AddressMessages.TryParseAddress(message, out int owner, out address) && owner == index);
    }

    /// <summary>A static neighbour (ARP/NDP) entry, replacing any entry for the address.</summary>
    public void AddPermanentNeighbour(int index, IPAddress address, PhysicalAddress mac)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(mac);
        byte[] bytes = mac.GetAddressBytes();
        Execute($"add neighbour {address} lladdr {mac} on link #{index}",
            (writer, sequence) => AddressMessages.NewPermanentNeighbour(writer, sequence, index, address, bytes));
    }
}
