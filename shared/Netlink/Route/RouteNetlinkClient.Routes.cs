using System.Net;
using System.Net.Sockets;
using static CniEgress.Netlink.Route.Rtnl;

namespace CniEgress.Netlink.Route;

public sealed partial class RouteNetlinkClient
{
    /// <exception cref="NetlinkAlreadyExistsException">the same route is already in the table.</exception>
    public void AddRoute(RouteSpec route) =>
        Execute("add route " + Describe(route), (writer, sequence) =>
            RouteMessages.NewRoute(writer, sequence, route, NetlinkMessageFlags.Create | NetlinkMessageFlags.Exclusive));

    /// <summary>Adds the route beside any of the same destination and metric through other devices
    /// (NLM_F_CREATE without EXCL or REPLACE), as the kernel adds every interface's fe80::/64.</summary>
    /// <exception cref="NetlinkAlreadyExistsException">the same route through the same device is already in the table.</exception>
    public void AddRouteBesideOthers(RouteSpec route) =>
        Execute("add route " + Describe(route), (writer, sequence) =>
            RouteMessages.NewRoute(writer, sequence, route, NetlinkMessageFlags.Create));

    /// <summary>Adds the route or replaces the one with the same destination (and metric) in the table.</summary>
    public void ReplaceRoute(RouteSpec route) =>
        Execute("replace route " + Describe(route), (writer, sequence) =>
            RouteMessages.NewRoute(writer, sequence, route, NetlinkMessageFlags.Create | NetlinkMessageFlags.Replace));

    /// <exception cref="NetlinkNotFoundException">no such route (ESRCH).</exception>
    public void DeleteRoute(RouteSpec route) =>
        Execute("delete route " + Describe(route), (writer, sequence) => RouteMessages.DeleteRoute(writer, sequence, route));

    /// <summary>Unicast routes of one family in one table (default: main); with
    /// <paramref name="outputInterface"/>, only those through that link (the kernel filters them).</summary>
    public IReadOnlyList<RouteSpec> ListRoutes(AddressFamily family, int table = RT_TABLE_MAIN, int outputInterface = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(outputInterface);
        var routes = new List<RouteSpec>();
        foreach (var entry in DumpRoutes(family, table, RouteMessages.TryParseRoute, outputInterface))
            if (outputInterface == 0 || entry.Spec.OutputInterface == outputInterface) routes.Add(entry.Spec);
        return routes;
    }

    /// <summary>The link of the main table's default route (the lowest metric if several), or null.</summary>
    public LinkInfo? DefaultRouteLink(AddressFamily family)
    {
        int outputInterface = DefaultRouteByLookup(family) ?? DefaultRouteByDump(family);
        return outputInterface > 0 ? FindLink(outputInterface) : null;
    }

    // Addresses no node routes on their own: class E, and the IPv6 discard prefix (RFC 6666).
    private static readonly IPAddress UnroutedV4 = IPAddress.Parse("240.0.0.1"), UnroutedV6 = IPAddress.Parse("100::1");

    /// <summary>The kernel's lookup of an address nothing routes specifically matches the default
    /// route the kernel itself would use, at the cost of one request whatever the number of pod
    /// routes. A main-table default route through one device is taken at its word, and so is "no
    /// route" (0): nothing in any table the rules reach covers the address, so there is no live
    /// default route, and a node without one (an air-gapped node with only static routes) would
    /// otherwise dump every pod route on every ADD. Anything else (a more specific route, policy
    /// routing to another table, multipath, an unreachable or prohibit route) is left to the dump.</summary>
    private int? DefaultRouteByLookup(AddressFamily family)
    {
        var destination = family == AddressFamily.InterNetworkV6 ? UnroutedV6 : UnroutedV4;
        RouteEntry? matched = null;
        try
        {
            // ENETUNREACH, no route, is an answer and not an exception: a native-AOT process pays
            // for its first exception in unwinder pages.
            bool routed = TryExecute(family == AddressFamily.InterNetworkV6 ? "look up the IPv6 default route" : "look up the IPv4 default route",
                (writer, sequence) => RouteMessages.LookUpRoute(writer, sequence, destination),
                (in NetlinkMessage message) =>
                {
                    if (RouteMessages.TryParseRoute(message, RT_TABLE_MAIN, out var entry)) matched = entry;
                },
                alsoNotFound: Interop.Errno.ENETUNREACH);
            if (!routed) return 0;
        }
        catch (NetlinkException)
        {
            return null; // an unreachable or prohibit route, and the like
        }
        return matched is { Spec.Destination.PrefixLength: 0 } route ? route.Spec.OutputInterface : null;
    }

    private int DefaultRouteByDump(AddressFamily family)
    {
        RouteEntry? best = null;
        foreach (var entry in DumpRoutes(family, RT_TABLE_MAIN, RouteMessages.TryParseDefaultRoute))
        {
            if (entry.Spec.Destination.PrefixLength == 0 && (best is null || entry.Priority < best.Value.Priority))
                best = entry;
        }
        return best?.Spec.OutputInterface ?? 0;
    }

    private delegate bool RouteParser(in NetlinkMessage message, int table, out RouteEntry entry);

    private List<RouteEntry> DumpRoutes(AddressFamily family, int table, RouteParser parse, int outputInterface = 0)
    {
        byte af = family switch
        {
            AddressFamily.InterNetwork => AF_INET,
            AddressFamily.InterNetworkV6 => AF_INET6,
            _ => throw new ArgumentException($"{family} is neither IPv4 nor IPv6", nameof(family)),
        };
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(table);
        try
        {
            // Not "{family}": formatting an enum reads reflection metadata, ~50 us on a plugin's first call.
            return Dump($"list {(af == AF_INET ? "IPv4" : "IPv6")} routes of table {table}",
                (writer, sequence) => RouteMessages.DumpRoutes(writer, sequence, af, table, outputInterface),
                (in NetlinkMessage message, out RouteEntry entry) => parse(message, table, out entry));
        }
        catch (NetlinkNotFoundException)
        {
            // A strict-checking kernel answers ENOENT for a table that has no routes yet.
            return [];
        }
    }

    /// <summary>One interpolation, never nested in another: two live at once hold two of the shared
    /// ArrayPool's buffers, and the spill of the second calibrates processor-id reads on first use
    /// (~0.27 ms of every CNI call on this VM).</summary>
    private static string Describe(RouteSpec route) => route.Gateway is null
        ? $"{route.Destination} dev #{route.OutputInterface} table {route.Table}"
        : $"{route.Destination} via {route.Gateway} dev #{route.OutputInterface} table {route.Table}";
}
