using System.Text.Json.Serialization;

namespace CniEgress.State;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AttachmentRecord))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
