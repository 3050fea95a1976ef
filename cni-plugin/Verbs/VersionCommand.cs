using System.Text.Json.Nodes;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;

namespace CniEgress.CniPlugin.Verbs;

public static class VersionCommand
{
    /// <summary>VERSION answers in the caller's version when we speak it, else in our newest.</summary>
    public static JsonObject Execute(ReadOnlySpan<byte> stdin)
    {
        CniVersion version;
        try
        {
            version = NetworkConfigParser.ParseVersionOnly(stdin);
        }
        catch (CniException)
        {
            version = CniVersion.Latest;
        }
        return new JsonObject
        {
            ["cniVersion"] = version.ToString(),
            ["supportedVersions"] = new JsonArray(CniVersion.Supported.Select(v => (JsonNode)v.ToString()).ToArray()),
        };
    }
}
