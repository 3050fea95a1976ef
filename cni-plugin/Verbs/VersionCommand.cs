using System.Text.Json;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;

namespace CniEgress.CniPlugin.Verbs;

public static class VersionCommand
{
    /// <summary>VERSION answers in the caller's version when we speak it, else in our newest.</summary>
    public static Action<Utf8JsonWriter> Execute(ReadOnlyMemory<byte> stdin)
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
        return json =>
        {
            json.WriteStartObject();
            json.WriteString("cniVersion", version.ToString());
            json.WriteStartArray("supportedVersions");
            foreach (var supported in CniVersion.Supported) json.WriteStringValue(supported.ToString());
            json.WriteEndArray();
            json.WriteEndObject();
        };
    }
}
