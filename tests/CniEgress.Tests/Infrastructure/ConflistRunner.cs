using System.Text.Json.Nodes;

namespace CniEgress.Tests.Infrastructure;

/// <summary>A small libcni: runs a conflist's plugins in order for ADD (each gets the previous
/// result as prevResult and runtimeConfig for the capabilities it declares) and in reverse for DEL.</summary>
public sealed class ConflistRunner(JsonObject conflist, string cniPath)
{
    public JsonObject Add(string containerId, string netns, string ifname, JsonObject runtimeConfig)
    {
        JsonObject? result = null;
        foreach (var plugin in Plugins())
        {
            var response = Invoke("ADD", plugin, result, runtimeConfig, containerId, netns, ifname);
            if (response.ExitCode != 0) throw new InvalidOperationException($"{plugin["type"]} ADD failed: {response}");
            result = response.Json;
        }
        return result!;
    }

    public void Del(string containerId, string netns, string ifname, JsonObject runtimeConfig, JsonObject? prevResult)
    {
        foreach (var plugin in Plugins().Reverse())
        {
            var response = Invoke("DEL", plugin, prevResult, runtimeConfig, containerId, netns, ifname);
            if (response.ExitCode != 0) throw new InvalidOperationException($"{plugin["type"]} DEL failed: {response}");
        }
    }

    private IEnumerable<JsonObject> Plugins() => conflist["plugins"]!.AsArray().Select(p => p!.AsObject());

    private CniPluginProcess.Response Invoke(string command, JsonObject plugin, JsonObject? prevResult, JsonObject runtimeConfig,
        string containerId, string netns, string ifname)
    {
        var config = plugin.DeepClone().AsObject();
        config["name"] = conflist["name"]!.DeepClone();
        config["cniVersion"] = conflist["cniVersion"]!.DeepClone();
        if (prevResult != null) config["prevResult"] = prevResult.DeepClone();
        if (plugin["capabilities"] is JsonObject capabilities)
        {
            var granted = new JsonObject();
            foreach (var (capability, enabled) in capabilities)
                if (enabled is JsonValue v && v.GetValue<bool>() && runtimeConfig[capability] is { } value)
                    granted[capability] = value.DeepClone();
            if (granted.Count > 0) config["runtimeConfig"] = granted;
        }
        string type = (string)plugin["type"]!;
        string binary = cniPath.Split(':').Select(d => Path.Combine(d, type)).First(File.Exists);
        return CniPluginProcess.Invoke(command, config.ToJsonString(), containerId, netns, ifname,
            args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=chained", cniPath: cniPath, binary: binary);
    }
}
