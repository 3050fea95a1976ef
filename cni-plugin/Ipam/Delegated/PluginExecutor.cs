using CniEgress.CniPlugin.Cni;
using CniEgress.Processes;

namespace CniEgress.CniPlugin.Ipam.Delegated;

/// <summary>Runs a plugin from CNI_PATH with the CNI_* variables and config on stdin, as libcni would.</summary>
public sealed class PluginExecutor(IReadOnlyList<string> pluginPaths, TimeSpan timeout)
{
    public string Find(string type)
    {
        foreach (string dir in pluginPaths)
        {
            string candidate = Path.Combine(dir, type);
            if (File.Exists(candidate)) return candidate;
        }
        throw new CniException(CniErrorCode.InvalidEnvironment,
            $"IPAM plugin '{type}' was not found in CNI_PATH ({(pluginPaths.Count == 0 ? "empty" : string.Join(':', pluginPaths))})");
    }

    public ProcessRunner.Outcome Run(string type, IReadOnlyDictionary<string, string> environment, byte[] stdin)
    {
        try
        {
            return ProcessRunner.Run(Find(type), [], stdin, timeout, environment);
        }
        catch (TimeoutException e)
        {
            throw new CniException(CniErrorCode.IpamPluginFailed, $"IPAM plugin '{type}': {e.Message}");
        }
    }
}
