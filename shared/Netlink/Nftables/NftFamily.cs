namespace CniEgress.Netlink.Nftables;

/// <summary>nf_tables table families (NFPROTO_*), as in `nft add table inet …`.</summary>
public enum NftFamily : byte
{
    Inet = 1,
    IPv4 = 2,
    IPv6 = 10,
}
