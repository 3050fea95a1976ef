using System.Text.Json;
using System.Text.Json.Nodes;
using CniEgress.CniPlugin.Cni;
using CniEgress.Json;
using Xunit;

namespace CniEgress.Tests.Cni;

public class AsciiJsonEncoderTests
{
    [Theory]
    [InlineData("plain /run/netns/p-1_x.y")]
    [InlineData("quote \" backslash \\ slash /")]
    [InlineData("controls \n\t\r\u0001\u001f and DEL \u007f")]
    [InlineData("html <script>&'+`")]
    [InlineData("non-ASCII é ü 名前 and an emoji 😀 (a surrogate pair)")]
    public void Strings_round_trip_and_the_output_is_plain_ASCII(string text)
    {
        byte[] utf8 = CniJson.ToUtf8(json =>
        {
            json.WriteStartObject();
            json.WriteString(text, text);
            json.WriteEndObject();
        });
        Assert.All(utf8, b => Assert.InRange(b, (byte)0x0a, (byte)0x7e));
        var parsed = JsonNode.Parse(utf8)!.AsObject();
        Assert.Equal(text, (string?)parsed[text]);
    }

    [Fact]
    public void Escapes_are_the_short_unicode_form()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, AsciiJsonEncoder.WriterOptions(indented: false)))
            json.WriteStringValue("a\"é😀");
        Assert.Equal("\"a\\u0022\\u00e9\\ud83d\\ude00\"", System.Text.Encoding.ASCII.GetString(buffer.WrittenSpan));
    }
}
