using System.Text.Json;

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

    /// <summary>SPEC.md "Error": cniVersion, code, msg and, when there is more to say, details.</summary>
    public void WriteJson(Utf8JsonWriter json, CniVersion version)
    {
        json.WriteStartObject();
        json.WriteString("cniVersion", version.ToString());
        json.WriteNumber("code", Code);
        json.WriteString("msg", Message);
        if (!string.IsNullOrEmpty(Details)) json.WriteString("details", Details);
        json.WriteEndObject();
    }
}
