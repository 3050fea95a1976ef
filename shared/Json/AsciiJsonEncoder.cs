using System.Text.Encodings.Web;
using System.Text.Json;

namespace CniEgress.Json;

/// <summary>JSON string escaping for our own writers: printable ASCII passes, everything else
/// (controls, non-ASCII, and the HTML-sensitive characters the default encoder also escapes)
/// becomes \uXXXX. JavaScriptEncoder.Default would do the same, but its first use builds
/// allow-lists over all of Unicode: ~0.3 ms of every plugin call, which is mostly start-up.</summary>
public sealed class AsciiJsonEncoder : JavaScriptEncoder
{
    private static readonly AsciiJsonEncoder Instance = new();

    /// <summary>What every Utf8JsonWriter of ours is made with: one left without an encoder
    /// falls back to JavaScriptEncoder.Default.</summary>
    public static JsonWriterOptions WriterOptions(bool indented) => new() { Indented = indented, Encoder = Instance };

    private AsciiJsonEncoder() { }

    /// <summary>A scalar above U+FFFF becomes a surrogate pair: two \uXXXX escapes.</summary>
    public override int MaxOutputCharactersPerInputCharacter => 12;

    public override bool WillEncode(int unicodeScalar) =>
        unicodeScalar is < 0x20 or > 0x7E or '"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`';

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (int i = 0; i < textLength; i++)
            if (WillEncode(text[i])) return i;
        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        numberOfCharactersWritten = 0;
        if (!WillEncode(unicodeScalar))
        {
            if (bufferLength < 1) return false;
            buffer[0] = (char)unicodeScalar;
            numberOfCharactersWritten = 1;
            return true;
        }
        Span<char> units = stackalloc char[2];
        int count = new System.Text.Rune(unicodeScalar).EncodeToUtf16(units);
        if (bufferLength < 6 * count) return false;
        for (int u = 0; u < count; u++)
        {
            var escape = new Span<char>(buffer + 6 * u, 6);
            escape[0] = '\\';
            escape[1] = 'u';
            ((int)units[u]).TryFormat(escape[2..], out _, "x4", System.Globalization.CultureInfo.InvariantCulture);
        }
        numberOfCharactersWritten = 6 * count;
        return true;
    }
}
