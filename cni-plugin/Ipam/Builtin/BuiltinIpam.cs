using System.Net;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>In-process IPAM: one address per range set for each (container, ifname), safe under
/// concurrent plugin processes (flock), idempotent per owner, crash-safe (rename). An ADD or DEL
/// reads one owner file and probes the addresses after the last one reserved, so its cost does not
/// grow with the pod count (the directory listing is read only when those probes find none free).</summary>
public sealed class BuiltinIpam(IReadOnlyList<IpamRangeSet> rangeSets, string dataDir)
{
    private readonly AllocationStore store = new(dataDir);

    /// <summary>How many addresses after the last one reserved ADD asks about one by one before it
    /// lists the whole directory: in-order allocation finds a free one at the first.</summary>
    private const int CandidatesProbedFirst = 64;

    public IReadOnlyList<AllocatedAddress> Allocate(string containerId, string ifName)
    {
        using var held = store.Lock();
        var owner = (containerId, ifName);
        // Idempotent: a retried or half-finished ADD keeps what it claimed. A claim whose address
        // file is missing (killed between the two writes) is still free, so it is re-reserved; a
        // claim another owner has since taken is dropped.
        var claimed = new List<IPAddress>();
        var alreadyReserved = new HashSet<IPAddress>();
        foreach (var address in store.ClaimedBy(containerId, ifName))
        {
            if (!store.IsReserved(address)) claimed.Add(address);
            else if (store.OwnerOf(address) == owner) { claimed.Add(address); alreadyReserved.Add(address); }
        }
        // Not the directory listing first: it holds every pod's address, and ADD would pay for
        // all of them. Probing after the cursor, then listing only when that fails, picks the same address.
        var chosen = new IPAddress[rangeSets.Count];
        HashSet<IPAddress>? listed = null;
        for (int i = 0; i < rangeSets.Count; i++)
        {
            var set = rangeSets[i];
            var lastReserved = store.LastReserved(i);
            chosen[i] = claimed.Find(set.Contains)
                ?? AddressAllocator.Next(set, a => store.IsReserved(a) || Array.IndexOf(chosen, a) >= 0, lastReserved, CandidatesProbedFirst)
                ?? AddressAllocator.Next(set, WithChosen(listed ??= store.ListAddresses(), chosen), lastReserved)
                ?? throw new IpamExhaustedException($"no free address left in ipam.ranges[{i}] ({set})");
        }
        // The owner file first, so every address file is always listed by its owner's file.
        store.SetClaims(containerId, ifName, chosen);
        for (int i = 0; i < chosen.Length; i++)
        {
            if (alreadyReserved.Contains(chosen[i])) continue;
            store.Reserve(chosen[i], containerId, ifName);
            store.SetLastReserved(i, chosen[i]);
        }
        return chosen.Select((address, i) =>
        {
            var range = rangeSets[i].Ranges.First(r => r.Contains(AddressMath.ToNumber(address)));
            return new AllocatedAddress(new InterfaceAddress(address, range.Subnet.PrefixLength), range.Gateway);
        }).ToList();
    }

    private static HashSet<IPAddress> WithChosen(HashSet<IPAddress> inUse, IPAddress?[] chosen)
    {
        foreach (var address in chosen) if (address != null) inUse.Add(address);
        return inUse;
    }

    public void Release(string containerId, string ifName)
    {
        if (!Directory.Exists(dataDir)) return;
        using var held = store.Lock();
        foreach (var address in store.ClaimedBy(containerId, ifName))
            if (store.OwnerOf(address) == (containerId, ifName)) store.Release(address);
        store.DropClaims(containerId, ifName);
    }

    /// <summary>Releases every address and owner file whose owner is not valid; unreadable owners are kept.</summary>
    public IReadOnlyList<IPAddress> CollectGarbage(IReadOnlySet<(string ContainerId, string IfName)> valid)
    {
        if (!Directory.Exists(dataDir)) return [];
        using var held = store.Lock();
        store.SweepTemporaries();
        var released = new List<IPAddress>();
        foreach (var (address, owner) in store.ReadAll())
        {
            if (owner is not { } o || valid.Contains(o)) continue;
            store.Release(address);
            released.Add(address);
        }
        foreach (var owner in store.Owners().ToList())
            if (!valid.Contains(owner)) store.DropClaims(owner.ContainerId, owner.IfName);
        return released;
    }

    /// <summary>Cheap: counts files against each set's capacity; never walks a range.</summary>
    public bool HasFreeAddress()
    {
        var allocated = store.ListAddresses();
        return rangeSets.All(set =>
        {
            UInt128 capacity = set.Ranges.Aggregate(UInt128.Zero, (sum, r) =>
                sum + (r.End - r.Start + 1) - (r.Contains(AddressMath.ToNumber(r.Gateway)) ? UInt128.One : UInt128.Zero));
            return (UInt128)allocated.Count(set.Contains) < capacity;
        });
    }
}
