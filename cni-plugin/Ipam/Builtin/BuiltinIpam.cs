using System.Net;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>In-process IPAM: one address per range set for each (container, ifname), safe under
/// concurrent plugin processes (flock), idempotent per owner, crash-safe (rename).</summary>
public sealed class BuiltinIpam(IReadOnlyList<IpamRangeSet> rangeSets, string dataDir)
{
    private readonly AllocationStore store = new(dataDir);

    public IReadOnlyList<AllocatedAddress> Allocate(string containerId, string ifName)
    {
        using var held = store.Lock();
        var allocated = store.ReadAll();
        var inUse = allocated.Keys.ToHashSet();
        var owned = allocated.Where(a => a.Value == (containerId, ifName)).Select(a => a.Key).ToList();
        var result = new List<AllocatedAddress>();
        for (int i = 0; i < rangeSets.Count; i++)
        {
            var set = rangeSets[i];
            // Idempotent: an owner that already holds an address of this set keeps it (a retried or
            // half-finished ADD must not take a second one).
            var address = owned.FirstOrDefault(set.Contains);
            if (address == null)
            {
                address = AddressAllocator.Next(set, inUse, store.LastReserved(i))
                    ?? throw new IpamExhaustedException($"no free address left in ipam.ranges[{i}] ({set})");
                store.Reserve(address, containerId, ifName);
                store.SetLastReserved(i, address);
                inUse.Add(address);
            }
            var range = set.Ranges.First(r => r.Contains(AddressMath.ToNumber(address)));
            result.Add(new AllocatedAddress(new InterfaceAddress(address, range.Subnet.PrefixLength), range.Gateway));
        }
        return result;
    }

    public void Release(string containerId, string ifName)
    {
        if (!Directory.Exists(dataDir)) return;
        using var held = store.Lock();
        foreach (var (address, owner) in store.ReadAll())
            if (owner == (containerId, ifName)) store.Release(address);
    }

    /// <summary>Releases every address whose owner is not valid; unreadable owners are kept.</summary>
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
        return released;
    }

    /// <summary>Cheap: counts files against each set's capacity; never walks a range.</summary>
    public bool HasFreeAddress()
    {
        var allocated = store.ReadAll().Keys.ToList();
        return rangeSets.All(set =>
        {
            UInt128 capacity = set.Ranges.Aggregate(UInt128.Zero, (sum, r) =>
                sum + (r.End - r.Start + 1) - (r.Contains(AddressMath.ToNumber(r.Gateway)) ? UInt128.One : UInt128.Zero));
            return (UInt128)allocated.Count(set.Contains) < capacity;
        });
    }
}
