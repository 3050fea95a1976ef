namespace CniEgress.Netlink.Nftables;

/// <summary>A set or map element as the kernel takes it: key bytes in register layout (each
/// concatenated field padded to 4 bytes), and for interval sets either an interval-end marker
/// (rbtree: a range is a start element and an end element at last + 1) or a range end key
/// (concatenated intervals); maps add a verdict.</summary>
public sealed record NftElement(byte[] Key, bool IntervalEnd = false, byte[]? KeyEnd = null, NftVerdict? Verdict = null);

/// <summary>Verdict data: accept, drop, or a jump/goto to a named chain.</summary>
public readonly record struct NftVerdict(int Code, string? Chain)
{
    public static NftVerdict Goto(string chain) => new(-4, chain);
    public static NftVerdict Jump(string chain) => new(-3, chain);
}

/// <summary>Element changes to one set, for <see cref="NftablesNetlinkClient.ApplyElementChanges"/>:
/// additions, deletions, or (<see cref="Flush"/>) the removal of every element the set holds.</summary>
public sealed record NftElementChange(bool Add, string Set, IReadOnlyList<NftElement> Elements)
{
    public bool IsFlush { get; private init; }

    public static NftElementChange Flush(string set) => new(false, set, []) { IsFlush = true };
}
