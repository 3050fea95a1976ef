using System.Net;
using System.IO.Hashing;
using System.Text;
using CniEgress.CniPlugin.Cni;
using CniEgress.Net;
using CniEgress.Netlink.Nftables;
using CniEgress.Files;
using CniEgress.Processes;

namespace CniEgress.CniPlugin.Wiring;

/// <summary>Node NAT for off-cluster egress, in our own table. The rules are static; a pod joins
/// or leaves by one set element (one nfnetlink batch, no nft process, no ruleset re-read).
/// The table itself is written once per boot (or when clusterCIDRs change) by `nft -f`.</summary>
public sealed class Masquerade(string stateDir, NftablesNetlinkClient nft)
{
    public const string Table = "cni-egress-nat";
    private const string SourcesV4 = "masq-sources-v4";
    private const string SourcesV6 = "masq-sources-v6";
    private static readonly string[] NftLocations = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"];

    public void EnsureTable(IReadOnlyList<IPNetwork> clusterCidrs)
    {
        string script = Script(clusterCidrs);
        string marker = Path.Combine(stateDir, "nat-" + Convert.ToHexStringLower(XxHash3.Hash(Encoding.UTF8.GetBytes(script))));
        if (File.Exists(marker) && nft.TableExists(NftFamily.Inet, Table)) return;

        Directory.CreateDirectory(stateDir);
        using var gate = FileLock.Acquire(Path.Combine(stateDir, "nat.lock"), TimeSpan.FromSeconds(10));
        if (File.Exists(marker) && nft.TableExists(NftFamily.Inet, Table)) return;
        var outcome = RunNft(script);
        if (outcome.ExitCode != 0)
            throw new CniException(CniErrorCode.KernelFailure, $"nft could not write table inet {Table}: {outcome.Stderr.Trim()}");
        foreach (string old in Directory.EnumerateFiles(stateDir, "nat-*")) File.Delete(old);
        File.WriteAllBytes(marker, []);
    }

    public void Add(IEnumerable<InterfaceAddress> addresses) => Apply(addresses, nft.AddSetElements);

    public void Remove(IEnumerable<InterfaceAddress> addresses)
    {
        if (nft.TableExists(NftFamily.Inet, Table)) Apply(addresses, nft.DeleteSetElements);
    }

    private static void Apply(IEnumerable<InterfaceAddress> addresses, Action<NftFamily, string, string, IReadOnlyList<byte[]>> change)
    {
        var v4 = addresses.Where(a => !a.IsIPv6).Select(a => a.Address.GetAddressBytes()).ToList();
        var v6 = addresses.Where(a => a.IsIPv6).Select(a => a.Address.GetAddressBytes()).ToList();
        if (v4.Count > 0) change(NftFamily.Inet, Table, SourcesV4, v4);
        if (v6.Count > 0) change(NftFamily.Inet, Table, SourcesV6, v6);
    }

    /// <summary>Idempotent: "add" keeps existing objects and their elements; only the cluster
    /// sets and the chain's rules are rewritten, inside nft's single transaction.</summary>
    internal static string Script(IReadOnlyList<IPNetwork> clusterCidrs)
    {
        // Each part is built before the next interpolation starts: nested ones would spill the
        // shared ArrayPool and cost ~0.27 ms per ADD (see InterfaceAddress.TryFormat).
        string Elements(bool v6)
        {
            var list = clusterCidrs.Where(c => (c.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == v6).Select(c => c.ToString()).ToList();
            if (list.Count == 0) return "";
            string joined = string.Join(", ", list);
            return $"add element inet {Table} cluster-v{(v6 ? 6 : 4)} {{ {joined} }}\n";
        }
        string elementsV4 = Elements(false), elementsV6 = Elements(true);
        return $$"""
            add table inet {{Table}}
            add set inet {{Table}} {{SourcesV4}} { type ipv4_addr; }
            add set inet {{Table}} {{SourcesV6}} { type ipv6_addr; }
            add set inet {{Table}} cluster-v4 { type ipv4_addr; flags interval; }
            add set inet {{Table}} cluster-v6 { type ipv6_addr; flags interval; }
            flush set inet {{Table}} cluster-v4
            flush set inet {{Table}} cluster-v6
            {{elementsV4}}{{elementsV6}}add chain inet {{Table}} postrouting { type nat hook postrouting priority srcnat; policy accept; }
            flush chain inet {{Table}} postrouting
            add rule inet {{Table}} postrouting ip saddr @{{SourcesV4}} ip daddr != @cluster-v4 masquerade
            add rule inet {{Table}} postrouting ip6 saddr @{{SourcesV6}} ip6 daddr != @cluster-v6 masquerade

            """;
    }

    private static ProcessRunner.Outcome RunNft(string script)
    {
        string nft = NftLocations.FirstOrDefault(File.Exists)
            ?? throw new CniException(CniErrorCode.KernelFailure, "ipMasq needs the nft command (package nftables), which was not found in /usr/sbin, /sbin or /usr/bin");
        return ProcessRunner.Run(nft, ["-f", "-"], Encoding.UTF8.GetBytes(script), TimeSpan.FromSeconds(20));
    }
}
