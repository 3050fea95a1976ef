using System.Buffers;
using System.Text.Json;
using CniEgress.Json;

namespace CniEgress.CniPlugin.Cni;

/// <summary>What the plugin prints (a result, the VERSION answer, an error) is written straight
/// to a Utf8JsonWriter, not built as a JsonObject first: each JsonValue made from a string or
/// number would first build the serializer's converters, ~0.4 ms of a call that is mostly
/// process start.</summary>
public static class CniJson
{
    /// <summary>The document, indented, with a final newline.</summary>
    public static byte[] ToUtf8(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var writer = new Utf8JsonWriter(buffer, AsciiJsonEncoder.WriterOptions(indented: true)))
            write(writer);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
