using System.Runtime.InteropServices;

namespace CniEgress.Netlink.Nftables;

/// <summary>struct nfgenmsg (4 bytes), the family header of every nfnetlink message.
/// ResourceId is big-endian on the wire (the batch messages carry the subsystem id in it).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NfGenMessage
{
    public const int Size = 4;
    public byte Family;
    public byte Version;
    public ushort ResourceIdBigEndian;
}
