using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Cni;

/// <summary>Result JSON for 0.3.0 through 1.1.0 (SPEC.md "Success"). 0.3.x/0.4.0 IPs carry
/// "version"; 1.1.0 interfaces may carry "mtu".</summary>
public static class CniResultJson
{
    public static JsonObject Render(CniResult result, CniVersion version)
    {
        var json = new JsonObject { ["cniVersion"] = version.ToString() };
        if (result.Interfaces.Count > 0)
            json["interfaces"] = new JsonArray(result.Interfaces.Select(i => (JsonNode)RenderInterface(i, version)).ToArray());
        if (result.Ips.Count > 0)
            json["ips"] = new JsonArray(result.Ips.Select(ip => (JsonNode)RenderIp(ip, version)).ToArray());
        if (result.Routes.Count > 0)
            json["routes"] = new JsonArray(result.Routes.Select(r => (JsonNode)RenderRoute(r)).ToArray());
        json["dns"] = result.Dns?.DeepClone() ?? new JsonObject();
        return json;
    }

    private static JsonObject RenderInterface(CniInterface i, CniVersion version)
    {
        var json = new JsonObject { ["name"] = i.Name };
        if (i.Mac != null) json["mac"] = i.Mac;
        if (i.Mtu is int mtu && version >= CniVersion.V1_1_0) json["mtu"] = mtu;
        if (i.Sandbox != null) json["sandbox"] = i.Sandbox;
        return json;
    }

    private static JsonObject RenderIp(CniIpConfig ip, CniVersion version)
    {
        var json = new JsonObject();
        if (version.IpsCarryVersion) json["version"] = ip.Address.IsIPv6 ? "6" : "4";
        json["address"] = ip.Address.ToString();
        if (ip.Gateway != null) json["gateway"] = ip.Gateway.ToString();
        if (ip.InterfaceIndex is int index) json["interface"] = index;
        return json;
    }

    private static JsonObject RenderRoute(CniRoute route)
    {
        var json = new JsonObject { ["dst"] = route.Destination.ToString() };
        if (route.Gateway != null) json["gw"] = route.Gateway.ToString();
        return json;
    }

    /// <summary>Parses a prevResult or an IPAM plugin's result of any version we speak.</summary>
    public static CniResult Parse(JsonObject json, string where)
    {
        var interfaces = new List<CniInterface>();
        foreach (var (node, i) in Items(json, "interfaces", where))
        {
            string path = $"{where}.interfaces[{i}]";
            interfaces.Add(new CniInterface(
                RequiredString(node, "name", path),
                OptionalString(node, "mac", path),
                OptionalString(node, "sandbox", path),
                node["mtu"] is JsonValue mtu && mtu.TryGetValue(out int m) ? m : null));
        }
        var ips = new List<CniIpConfig>();
        foreach (var (node, i) in Items(json, "ips", where))
        {
            string path = $"{where}.ips[{i}]";
            string address = RequiredString(node, "address", path);
            if (!InterfaceAddress.TryParse(address, out var parsed))
                throw Decode($"{path}.address '{address}' is not an address with prefix length");
            IPAddress? gateway = ParseAddress(OptionalString(node, "gateway", path), $"{path}.gateway");
            int? index = node["interface"] is JsonValue v && v.TryGetValue(out int idx) ? idx : null;
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
        return new CniResult(interfaces, ips, routes, json["dns"] as JsonObject);
    }

    /// <summary>Routes like "10.1.0.5/24" (host bits set) appear in the wild; mask them.</summary>
    private static bool TryParseLoose(string text, out IPNetwork network)
    {
        network = default;
        if (!InterfaceAddress.TryParse(text, out var address)) return false;
        network = address.Network;
        return true;
    }

    private static IEnumerable<(JsonObject Node, int Index)> Items(JsonObject json, string key, string where)
    {
        if (json[key] is null) yield break;
        if (json[key] is not JsonArray array) throw Decode($"{where}.{key} must be an array");
        for (int i = 0; i < array.Count; i++)
            yield return (array[i] as JsonObject ?? throw Decode($"{where}.{key}[{i}] must be an object"), i);
    }

    private static string RequiredString(JsonObject node, string key, string path) =>
        OptionalString(node, key, path) ?? throw Decode($"{path}.{key} is required");

    private static string? OptionalString(JsonObject node, string key, string path) => node[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw Decode($"{path}.{key} must be a string"),
    };

    private static IPAddress? ParseAddress(string? text, string path)
    {
        if (text == null) return null;
        return IPAddress.TryParse(text, out var address) && address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            ? address
            : throw Decode($"{path} '{text}' is not an IP address");
    }

    private static CniException Decode(string message) => new(CniErrorCode.DecodeFailure, message);
}
