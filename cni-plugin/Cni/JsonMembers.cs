using System.Text.Json;

namespace CniEgress.CniPlugin.Cni;

/// <summary>Member reads on parsed JSON (JsonElement, not JsonNode: a JsonNode's first typed read costs
/// ~0.2 ms of generic-virtual lookups in the native-AOT binary, on every CNI call). A missing key
/// and an explicit null are both "absent", as the CNI spec's Go structs read them.</summary>
public static class JsonMembers
{
    public static JsonElement? Get(JsonElement json, string key) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary>The member as a string; absent gives null, any other kind gives <paramref name="invalid"/>.</summary>
    public static string? Text(JsonElement json, string key, Func<Exception> invalid) => Get(json, key) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw invalid(),
    };

    public static int? WholeNumber(JsonElement json, string key) =>
        Get(json, key) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out int number) ? number : null;

    /// <summary>An array's items with their positions, for errors that say which item ("ipam.ranges[1][0]").</summary>
    public static IEnumerable<(JsonElement Item, int Index)> Indexed(JsonElement array)
    {
        int index = 0;
        foreach (var item in array.EnumerateArray()) yield return (item, index++);
    }
}
