namespace CniEgress.PolicyAgent.Diagnostics;

/// <summary>ifindex to name in this network namespace, asked of rtnetlink (not /sys/class/net,
/// which shows the namespace that mounted sysfs), cached until an index is new. Not thread safe:
/// one per reader.</summary>
public sealed class InterfaceNames
{
    private readonly Dictionary<int, string> names = [];

    public string Of(int index)
    {
        if (names.TryGetValue(index, out var name)) return name;
        try
        {
            using var route = CniEgress.Netlink.Route.RouteNetlinkClient.Open();
            names.Clear();
            foreach (var link in route.ListLinks()) names[link.Index] = link.Name;
        }
        catch (CniEgress.Netlink.NetlinkException) { }
        return names.GetValueOrDefault(index, $"ifindex {index}");
    }
}
