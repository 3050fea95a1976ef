namespace CniEgress.Netlink;

/// <summary>Control message types shared by every netlink family; family types start at 0x10.</summary>
public static class NetlinkMessageType
{
    public const ushort Noop = 1;
    public const ushort Error = 2;
    public const ushort Done = 3;
    public const ushort Overrun = 4;
    public const ushort MinimumFamilyType = 0x10;
}
