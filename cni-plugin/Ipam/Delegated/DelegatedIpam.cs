using System.Text.Json;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;
using CniEgress.Processes;
using CniEgress.State;

namespace CniEgress.CniPlugin.Ipam.Delegated;

/// <summary>IPAM by exec'ing ipam.type from CNI_PATH with our own config on stdin.</summary>
public sealed class DelegatedIpam(NetworkConfig config, CniEnvironment env, byte[] stdin, PluginExecutor executor) : IIpam
{
    /// <summary>1.1.0 only added verbs and optional fields; IPAM plugins built before it (Debian's
    /// host-local speaks up to 1.0.0) refuse a 1.1.0 config, so they get the same config as 1.0.0.</summary>
    private readonly byte[] delegateStdin = config.Version > CniVersion.V1_0_0 ? AsVersion(config, CniVersion.V1_0_0) : stdin;

    private static byte[] AsVersion(NetworkConfig config, CniVersion version)
    {
        return CniJson.ToUtf8(json =>
        {
            json.WriteStartObject();
            json.WriteString("cniVersion", version.ToString());
            foreach (var member in config.Raw.EnumerateObject())
                if (member.Name != "cniVersion") member.WriteTo(json);
            json.WriteEndObject();
        });
    }

    public CniResult Add()
    {
        var outcome = Invoke("ADD", env.ContainerId, env.IfName, env.NetnsPath);
        JsonElement json;
        try
        {
            json = JsonElement.Parse(outcome.Stdout);
            if (json.ValueKind != JsonValueKind.Object) throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.IpamPluginFailed, $"IPAM plugin '{config.IpamType}' returned a result that is not JSON: {e.Message}");
        }
        var result = CniResultJson.Parse(json, $"result of IPAM plugin '{config.IpamType}'");
        if (result.Ips.Count == 0)
            throw new CniException(CniErrorCode.IpamPluginFailed, $"IPAM plugin '{config.IpamType}' returned no IP addresses");
        return result;
    }

    public void Del() => Invoke("DEL", env.ContainerId, env.IfName, env.NetnsPath);

    public void CollectGarbage(IReadOnlySet<AttachmentKey> valid, IReadOnlyList<AttachmentRecord> stale)
    {
        // A delegate cannot list its allocations, so GC releases what our records say it owns.
        foreach (var record in stale) Invoke("DEL", record.ContainerId, record.IfName, "");
    }

    public void CheckAvailable() => executor.Find(config.IpamType);

    private ProcessRunner.Outcome Invoke(string command, string containerId, string ifName, string netns)
    {
        var environment = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_IFNAME"] = ifName,
            ["CNI_NETNS"] = netns,
            ["CNI_PATH"] = string.Join(':', env.PluginPaths),
        };
        var outcome = executor.Run(config.IpamType, environment, delegateStdin);
        if (outcome.ExitCode == 0) return outcome;
        throw AsCniError(outcome);
    }

    private static Exception NotText() => new FormatException("not a string");

    /// <summary>A delegate's own CNI error travels up unchanged (code and msg), as libcni would show it.</summary>
    private CniException AsCniError(ProcessRunner.Outcome outcome)
    {
        try
        {
            var error = JsonElement.Parse(outcome.Stdout);
            if (JsonMembers.WholeNumber(error, "code") is int code)
                return new CniException(code, $"IPAM plugin '{config.IpamType}': {JsonMembers.Text(error, "msg", NotText)}", JsonMembers.Text(error, "details", NotText));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
        }
        string detail = (outcome.Stderr.Length > 0 ? outcome.Stderr : outcome.Stdout).Trim();
        return new CniException(CniErrorCode.IpamPluginFailed, $"IPAM plugin '{config.IpamType}' exited with {outcome.ExitCode}: {detail}");
    }
}
