using System.Text;
using CniEgress.CniPlugin.Agent;
using Xunit;

namespace CniEgress.Tests.Agent;

/// <summary>The agent's one-line answer to an ADD, as the plugin reads it: anything but a JSON
/// object saying ok is no answer, so ADD fails closed.</summary>
public class AgentReplyTests
{
    [Theory]
    [InlineData("""{"ok": true}""", true, null)]
    [InlineData("""{"ok": false, "error": "policy app/deny failed to compile"}""", false, "policy app/deny failed to compile")]
    [InlineData("""{"error": "late", "extra": [1, {"a": [2]}], "ok": true}""", true, "late")]
    [InlineData("""{"ok": "true"}""", false, null)]
    [InlineData("""{"ok": true, "error": 5}""", true, null)]
    public void Objects_are_read_by_their_ok_and_error(string reply, bool ok, string? error) =>
        Assert.Equal((ok, error), AgentHandshake.ReadReply(Encoding.UTF8.GetBytes(reply)));

    [Theory]
    [InlineData("")]
    [InlineData("ok")]
    [InlineData("[true]")]
    [InlineData("""{"ok": true""")]
    [InlineData("""{"ok": tru}""")]
    [InlineData("""{"ok": true}}""")]
    public void Anything_else_is_no_answer(string reply) => Assert.Equal((false, (string?)null), AgentHandshake.ReadReply(Encoding.UTF8.GetBytes(reply)));
}
