using System.Net;
using System.Text.Json;
using CniEgress.CniPlugin.Cni;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Config;

/// <summary>Turns stdin bytes into a <see cref="NetworkConfig"/>, or a CniException whose code
/// follows SPEC.md: 6 for undecodable input, 1 for an unsupported version, 7 for a bad key.</summary>
public static class NetworkConfigParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public static NetworkConfig Parse(ReadOnlyMemory<byte> stdin)
    {
        JsonElement raw = ParseObject(stdin);
        CniVersion version = ReadVersion(raw);
        string name = RequiredString(raw, "name");
        if (!CniEnvironment.IsSpecName(name))
            throw Invalid($"name '{name}' must start with a letter or digit and contain only letters, digits, '_', '.', '-'");
        string type = RequiredString(raw, "type");
        JsonElement ipam = JsonMembers.Get(raw, "ipam") switch
        {
            null => throw Invalid("ipam is required (e.g. {\"type\": \"cni-egress\", \"ranges\": [[{\"subnet\": \"10.244.1.0/24\"}]]})"),
            { ValueKind: JsonValueKind.Object } value => value,
            _ => throw Invalid("ipam must be an object"),
        };
        string ipamType = RequiredString(ipam, "type", "ipam.type");
        if (ipamType.Contains('/', StringComparison.Ordinal) || ipamType is "." or "..")
            throw Invalid($"ipam.type '{ipamType}' must be a plugin name, not a path");

        return new NetworkConfig(
            raw, version, name, type,
            ReadMtu(raw),
            OptionalBool(raw, "ipMasq") ?? false,
            ReadCidrs(raw, "clusterCIDRs"),
            OptionalString(raw, "stateDir") ?? NetworkConfig.DefaultStateDir,
            OptionalString(raw, "logFile"),
            ipamType, ipam,
            JsonMembers.Get(raw, "prevResult") switch
            {
                null => null,
                { ValueKind: JsonValueKind.Object } prev => CniResultJson.Parse(prev, "prevResult"),
                _ => throw Invalid("prevResult must be an object"),
            },
            ReadValidAttachments(raw),
            ReadPolicyAgent(raw));
    }

    private static PolicyAgentMode ReadPolicyAgent(JsonElement raw) => OptionalString(raw, "policyAgent") switch
    {
        null or "required" => PolicyAgentMode.Required,
        "best-effort" => PolicyAgentMode.BestEffort,
        "off" => PolicyAgentMode.Off,
        var other => throw Invalid($"policyAgent '{other}' must be \"required\" (default), \"best-effort\" or \"off\""),
    };

    /// <summary>VERSION only needs the version the caller speaks; everything else may be absent.</summary>
    public static CniVersion ParseVersionOnly(ReadOnlyMemory<byte> stdin) =>
        stdin.Span.Trim((byte)' ').Length == 0 ? CniVersion.Latest : ReadVersion(ParseObject(stdin));

    private static JsonElement ParseObject(ReadOnlyMemory<byte> stdin)
    {
        // JsonElement decodes strings lazily; invalid UTF-8 would surface later, far from here.
        if (!System.Text.Unicode.Utf8.IsValid(stdin.Span))
            throw new CniException(CniErrorCode.DecodeFailure, "network config on stdin is not valid UTF-8");
        JsonElement root;
        try
        {
            // Not disposed, and parsed from a copy padded with as many spaces: a document sizes its
            // row table from the input's length (a token per 12 bytes), a prevResult is denser, and
            // growing the table mid-parse, like disposing (what JsonElement.Parse does), returns pooled
            // buffers that spill the shared ArrayPool: ~0.27 ms of a CHECK here (see
            // InterfaceAddress.TryFormat). The document lives as long as this one call.
            byte[] padded = new byte[stdin.Length * 2];
            stdin.CopyTo(padded);
            padded.AsSpan(stdin.Length).Fill((byte)' ');
            root = JsonDocument.Parse(padded, DocumentOptions).RootElement;
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodeFailure, $"network config on stdin is not valid JSON: {e.Message}");
        }
        catch (ArgumentException e)
        {
            throw new CniException(CniErrorCode.DecodeFailure, $"network config on stdin is not valid UTF-8 JSON: {e.Message}");
        }
        return root.ValueKind == JsonValueKind.Object ? root : throw new CniException(CniErrorCode.DecodeFailure, "network config on stdin must be a JSON object");
    }

    private static CniVersion ReadVersion(JsonElement raw)
    {
        static string Supported() => string.Join(", ", CniVersion.Supported); // only for an error: every ADD reads the version
        string? text = OptionalString(raw, "cniVersion");
        if (text == null)
        {
            // A conflist may name several versions (1.1.0 "cniVersions"); speak the newest we share.
            if (JsonMembers.Get(raw, "cniVersions") is { ValueKind: JsonValueKind.Array } versions)
            {
                var shared = versions.EnumerateArray()
                    .Select(v => v.ValueKind == JsonValueKind.String && CniVersion.TryParse(v.GetString(), out var cv) ? cv : default)
                    .Where(v => v.IsSupported).ToList();
                if (shared.Count > 0) return shared.Max();
                throw new CniException(CniErrorCode.IncompatibleVersion, $"none of cniVersions is supported (supported: {Supported()})");
            }
            throw Invalid("cniVersion is required");
        }
        if (!CniVersion.TryParse(text, out var version) || !version.IsSupported)
            throw new CniException(CniErrorCode.IncompatibleVersion, $"cniVersion '{text}' is not supported", $"supported versions: {Supported()}");
        return version;
    }

    private static int? ReadMtu(JsonElement raw)
    {
        if (JsonMembers.Get(raw, "mtu") is not { } value) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int mtu) && mtu is >= 68 and <= 65535) return mtu;
        throw Invalid($"mtu {value.GetRawText()} must be an integer from 68 to 65535");
    }

    private static IReadOnlyList<IPNetwork> ReadCidrs(JsonElement raw, string key)
    {
        if (JsonMembers.Get(raw, key) is not { } array) return [];
        if (array.ValueKind != JsonValueKind.Array) throw Invalid($"{key} must be an array of CIDRs");
        var result = new List<IPNetwork>();
        foreach (var (item, i) in JsonMembers.Indexed(array))
        {
            string? text = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
            if (!Cidr.TryParseStrict(text, out var network))
                throw Invalid($"{key}[{i}] {item.GetRawText()} is not a CIDR with its host bits zero (like 10.244.0.0/16)");
            result.Add(network);
        }
        return result;
    }

    private static IReadOnlyList<AttachmentKey>? ReadValidAttachments(JsonElement raw)
    {
        const string Key = "cni.dev/valid-attachments";
        if (JsonMembers.Get(raw, Key) is not { } array) return null;
        if (array.ValueKind != JsonValueKind.Array) throw Invalid($"{Key} must be an array");
        var result = new List<AttachmentKey>();
        foreach (var (item, i) in JsonMembers.Indexed(array))
        {
            if (item.ValueKind != JsonValueKind.Object) throw Invalid($"{Key}[{i}] must be an object");
            result.Add(new AttachmentKey(RequiredString(item, "containerID", $"{Key}[{i}].containerID"), RequiredString(item, "ifname", $"{Key}[{i}].ifname")));
        }
        return result;
    }

    private static string RequiredString(JsonElement json, string key, string? path = null) =>
        OptionalString(json, key, path) is { Length: > 0 } s ? s : throw Invalid($"{path ?? key} is required");

    private static string? OptionalString(JsonElement json, string key, string? path = null) =>
        JsonMembers.Text(json, key, () => Invalid($"{path ?? key} must be a string"));

    private static bool? OptionalBool(JsonElement json, string key) => JsonMembers.Get(json, key) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw Invalid($"{key} must be true or false"),
    };

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidNetworkConfig, message);

}
