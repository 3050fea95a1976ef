using System.Net;
using CniEgress.Net;
using static CniEgress.Netlink.Route.Rtnl;

namespace CniEgress.Netlink.Route;

/// <summary>A route as dumped, with the metric used to pick among default routes.</summary>
internal readonly record struct RouteEntry(RouteSpec Spec, int Priority);

/// <summary>Encodes route requests and decodes RTM_NEWROUTE replies; pure, no kernel.</summary>
internal static class RouteMessages
{
    private const NetlinkMessageFlags RequestAck = NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack;

    /// <summary>RTM_NEWROUTE; <paramref name="createFlags"/> is NLM_F_CREATE|NLM_F_EXCL (add)
    /// or NLM_F_CREATE|NLM_F_REPLACE (replace), with the route's protocol ("boot" unless an owner's).</summary>
    public static void NewRoute(NetlinkMessageWriter writer, uint sequence, RouteSpec route, NetlinkMessageFlags createFlags)
    {
        byte family = Validate(route);
        writer.BeginMessage(RTM_NEWROUTE, RequestAck | createFlags, sequence);
        writer.WriteHeader(new RtMessage
        {
            Family = family,
            DestinationLength = (byte)route.Destination.PrefixLength,
            Table = TableByte(route.Table),
            Protocol = route.Protocol,
            Scope = (byte)route.Scope,
            Type = RTN_UNICAST,
            Flags = route.OnLink ? RTNH_F_ONLINK : 0,
        });
        WriteAttributes(writer, route);
        writer.EndMessage();
    }

    /// <summary>RTM_DELROUTE matching destination, table, device and gateway. Scope "nowhere",
    /// protocol and type 0 are the kernel's wildcards, so a route is found whatever scope or
    /// origin it was added with.</summary>
    public static void DeleteRoute(NetlinkMessageWriter writer, uint sequence, RouteSpec route)
    {
        byte family = Validate(route);
        writer.BeginMessage(RTM_DELROUTE, RequestAck, sequence);
        writer.WriteHeader(new RtMessage
        {
            Family = family,
            DestinationLength = (byte)route.Destination.PrefixLength,
            Table = TableByte(route.Table),
            Scope = RT_SCOPE_NOWHERE,
        });
        WriteAttributes(writer, route);
        writer.EndMessage();
    }

    /// <summary>A dump of one family; the table in rtm_table and RTA_TABLE lets a
    /// strict-checking kernel skip every other table, and RTA_OIF (when
    /// <paramref name="outputInterface"/> is set) every route through another device.</summary>
    public static void DumpRoutes(NetlinkMessageWriter writer, uint sequence, byte family, int table, int outputInterface = 0)
    {
        writer.BeginMessage(RTM_GETROUTE, NetlinkMessageFlags.Request | NetlinkMessageFlags.Dump, sequence);
        writer.WriteHeader(new RtMessage { Family = family, Table = TableByte(table) });
        writer.WriteAttribute(RTA_TABLE, (uint)table);
        if (outputInterface > 0) writer.WriteAttribute(RTA_OIF, (uint)outputInterface);
        writer.EndMessage();
    }

    /// <summary>RTM_GETROUTE without NLM_F_DUMP: the kernel's own lookup of one destination (ip
    /// route get fibmatch), answered with the table entry it matched rather than a cached clone.</summary>
    public static void LookUpRoute(NetlinkMessageWriter writer, uint sequence, IPAddress destination)
    {
        byte family = AddressMessages.FamilyOf(destination);
        writer.BeginMessage(RTM_GETROUTE, RequestAck, sequence);
        writer.WriteHeader(new RtMessage
        {
            Family = family,
            DestinationLength = (byte)(family == AF_INET ? 32 : 128),
            Flags = RTM_F_FIB_MATCH,
        });
        writer.WriteAttribute(RTA_DST, destination);
        writer.EndMessage();
    }

    /// <summary><see cref="TryParseRoute"/> for default routes only. Every other route is skipped
    /// on its header, before an attribute is read or an object made: a node's main table holds a
    /// /32 and a /128 per pod, and ADD looks for the default route in all of them.</summary>
    public static bool TryParseDefaultRoute(in NetlinkMessage message, int table, out RouteEntry entry)
    {
        entry = default;
        return message.Type == RTM_NEWROUTE && message.ReadHeader<RtMessage>().DestinationLength == 0
            && TryParseRoute(message, table, out entry);
    }

    /// <summary>Decodes a unicast route of <paramref name="table"/>; skips cached clones,
    /// local/broadcast/unreachable types and multipath routes (no single device).</summary>
    public static bool TryParseRoute(in NetlinkMessage message, int table, out RouteEntry entry)
    {
        entry = default;
        if (message.Type != RTM_NEWROUTE) return false;
        var header = message.ReadHeader<RtMessage>();
        if (header.Type != RTN_UNICAST || (header.Flags & RTM_F_CLONED) != 0) return false;
        if (header.Family is not (AF_INET or AF_INET6)) return false;
        int routeTable = header.Table, outputInterface = 0, priority = 0;
        IPAddress? destination = null, gateway = null;
        foreach (var attribute in message.Attributes(RtMessage.Size))
        {
            switch (attribute.Type)
            {
                case RTA_TABLE: routeTable = attribute.GetInt32(); break;
                case RTA_DST: destination = attribute.GetIPAddress(); break;
                case RTA_GATEWAY: gateway = attribute.GetIPAddress(); break;
                case RTA_OIF: outputInterface = attribute.GetInt32(); break;
                case RTA_PRIORITY: priority = attribute.GetInt32(); break;
            }
        }
        if (routeTable != table || outputInterface == 0) return false;
        destination ??= header.Family == AF_INET6 ? IPAddress.IPv6Any : IPAddress.Any;
        var network = new IPNetwork(InterfaceAddress.MaskHostBits(destination, header.DestinationLength), header.DestinationLength);
        var spec = new RouteSpec(network, outputInterface, gateway, (RouteScope)header.Scope, (header.Flags & RTNH_F_ONLINK) != 0, routeTable, header.Protocol);
        entry = new RouteEntry(spec, priority);
        return true;
    }

    private static void WriteAttributes(NetlinkMessageWriter writer, RouteSpec route)
    {
        // RTA_TABLE always: rtm_table is a byte and cannot name tables above 255.
        writer.WriteAttribute(RTA_TABLE, (uint)route.Table);
        if (route.Destination.PrefixLength > 0) writer.WriteAttribute(RTA_DST, route.Destination.BaseAddress);
        if (route.Gateway is not null) writer.WriteAttribute(RTA_GATEWAY, route.Gateway);
        if (route.OutputInterface > 0) writer.WriteAttribute(RTA_OIF, (uint)route.OutputInterface);
    }

    private static byte Validate(RouteSpec route)
    {
        ArgumentNullException.ThrowIfNull(route);
        byte family = AddressMessages.FamilyOf(route.Destination.BaseAddress);
        if (route.Gateway is not null && AddressMessages.FamilyOf(route.Gateway) != family)
            throw new ArgumentException($"gateway {route.Gateway} is not of the family of {route.Destination}", nameof(route));
        if (route.Table is <= 0 or > int.MaxValue)
            throw new ArgumentException($"route table {route.Table} is out of range", nameof(route));
        if (route.OutputInterface < 0 || (route.OutputInterface == 0 && route.Gateway is null))
            throw new ArgumentException("a route needs an output interface, a gateway, or both", nameof(route));
        return family;
    }

    // RT_TABLE_UNSPEC in the byte field defers to RTA_TABLE for tables above 255.
    private static byte TableByte(int table) => table is > 0 and < 256 ? (byte)table : (byte)0;
}
