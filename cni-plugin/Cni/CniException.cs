using System.Text.Json.Nodes;

namespace CniEgress.CniPlugin.Cni;

/// <summary>A failure that reaches the runtime as spec error JSON.</summary>
public sealed class CniException : Exception
{
    public CniException(int code, string message, string? details = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        Details = details;
    }

    public int Code { get; }

    public string? Details { get; }

    public JsonObject ToJson(CniVersion version)
    {
        var json = new JsonObject
        {
            ["cniVersion"] = version.ToString(),
            ["code"] = Code,
            ["msg"] = Message,
        };
        if (!string.IsNullOrEmpty(Details)) json["details"] = Details;
        return json;
    }
}
