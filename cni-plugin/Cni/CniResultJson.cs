using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Cni;

/// <summary>Result JSON for 0.3.0 through 1.1.0 (SPEC.md "Success"). 0.3.x/0.4.0 IPs carry
/// "version"; 1.1.0 interfaces may carry "mtu".</summary>
public static class CniResultJson
{
    public static void Write(Utf8JsonWriter json, CniResult result, CniVersion version)
    {
        json.WriteStartObject();
        json.WriteString("cniVersion", version.ToString());
        if (result.Interfaces.Count > 0)
        {
            json.WriteStartArray("interfaces");
            foreach (var i in result.Interfaces) WriteInterface(json, i, version);
            json.WriteEndArray();
        }
        if (result.Ips.Count > 0)
        {
            json.WriteStartArray("ips");
            foreach (var ip in result.Ips) WriteIp(json, ip, version);
            json.WriteEndArray();
        }
        if (result.Routes.Count > 0)
        {
            json.WriteStartArray("routes");
            foreach (var route in result.Routes) WriteRoute(json, route);
            json.WriteEndArray();
        }
        json.WritePropertyName("dns");
        if (result.Dns is { } dns) dns.WriteTo(json);
        else
        {
            json.WriteStartObject();
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static void WriteInterface(Utf8JsonWriter json, CniInterface i, CniVersion version)
    {
        json.WriteStartObject();
        json.WriteString("name", i.Name);
        if (i.Mac != null) json.WriteString("mac", i.Mac);
        if (i.Mtu is int mtu && version >= CniVersion.V1_1_0) json.WriteNumber("mtu", mtu);
        if (i.Sandbox != null) json.WriteString("sandbox", i.Sandbox);
        json.WriteEndObject();
    }

    private static void WriteIp(Utf8JsonWriter json, CniIpConfig ip, CniVersion version)
    {
        json.WriteStartObject();
        if (version.IpsCarryVersion) json.WriteString("version", ip.Address.IsIPv6 ? "6" : "4");
        json.WriteString("address", ip.Address.ToString());
        if (ip.Gateway != null) json.WriteString("gateway", ip.Gateway.ToString());
        if (ip.InterfaceIndex is int index) json.WriteNumber("interface", index);
        json.WriteEndObject();
    }

    private static void WriteRoute(Utf8JsonWriter json, CniRoute route)
    {
        json.WriteStartObject();
        json.WriteString("dst", route.Destination.ToString());
        if (route.Gateway != null) json.WriteString("gw", route.Gateway.ToString());
        json.WriteEndObject();
    }

    /// <summary>Parses a prevResult or an IPAM plugin's result of any version we speak.</summary>
    public static CniResult Parse(JsonElement json, string where)
    {
        var interfaces = new List<CniInterface>();
        foreach (var (node, i) in Items(json, "interfaces", where))
        {
            string path = $"{where}.interfaces[{i}]";
            interfaces.Add(new CniInterface(
                RequiredString(node, "name", path),
                OptionalString(node, "mac", path),
                OptionalString(node, "sandbox", path),
                JsonMembers.WholeNumber(node, "mtu")));
        }
        var ips = new List<CniIpConfig>();
        foreach (var (node, i) in Items(json, "ips", where))
        {
            string path = $"{where}.ips[{i}]";
            string address = RequiredString(node, "address", path);
            if (!InterfaceAddress.TryParse(address, out var parsed))
                throw Decode($"{path}.address '{address}' is not an address with prefix length");
            IPAddress? gateway = ParseAddress(OptionalString(node, "gateway", path), $"{path}.gateway");
            int? index = JsonMembers.WholeNumber(node, "interface");
            ips.Add(new CniIpConfig(parsed, gateway, index));
        }
        var routes = new List<CniRoute>();
        foreach (var (node, i) in Items(json, "routes", where))
        {
            string path = $"{where}.routes[{i}]";
            string dst = RequiredString(node, "dst", path);
            if (!IPNetwork.TryParse(dst, out var network) && !TryParseLoose(dst, out network))
                throw Decode($"{path}.dst '{dst}' is not a CIDR");
            routes.Add(new CniRoute(network, ParseAddress(OptionalString(node, "gw", path), $"{path}.gw")));
        }
        return new CniResult(interfaces, ips, routes, JsonMembers.Get(json, "dns") is { ValueKind: JsonValueKind.Object } dns ? dns : null);
    }

    /// <summary>Routes like "10.1.0.5/24" (host bits set) appear in the wild; mask them.</summary>
    private static bool TryParseLoose(string text, out IPNetwork network)
    {
        network = default;
        if (!InterfaceAddress.TryParse(text, out var address)) return false;
        network = address.Network;
        return true;
    }

    private static IEnumerable<(JsonElement Node, int Index)> Items(JsonElement json, string key, string where)
    {
        if (JsonMembers.Get(json, key) is not { } array) yield break;
        if (array.ValueKind != JsonValueKind.Array) throw Decode($"{where}.{key} must be an array");
        foreach (var (item, i) in JsonMembers.Indexed(array))
        {
            if (item.ValueKind != JsonValueKind.Object) throw Decode($"{where}.{key}[{i}] must be an object");
            yield return (item, i);
        }
    }

    private static string RequiredString(JsonElement node, string key, string path) =>
        OptionalString(node, key, path) ?? throw Decode($"{path}.{key} is required");

    private static string? OptionalString(JsonElement node, string key, string path) =>
        JsonMembers.Text(node, key, () => Decode($"{path}.{key} must be a string"));

    private static IPAddress? ParseAddress(string? text, string path)
    {
        if (text == null) return null;
        return IPAddress.TryParse(text, out var address) && address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            ? address
            : throw Decode($"{path} '{text}' is not an IP address");
    }

    private static CniException Decode(string message) => new(CniErrorCode.DecodeFailure, message);
}
