using System.Globalization;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>Optional log file from the config's "logFile": one line per event, appended.
/// Logging must never fail a verb, so write errors are swallowed.</summary>
public sealed class PluginLog(string path, string prefix)
{
    public static PluginLog? Current { get; set; }

    public void Write(string message)
    {
        try
        {
            string line = string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O} {prefix} {message}\n");
            File.AppendAllText(path, line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
