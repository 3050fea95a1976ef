using System.Globalization;
using System.Text.Json.Nodes;

namespace CniEgress.Tests.Infrastructure;

/// <summary>A CNI network of its own per test: unique name, subnets and state directory, so
/// kernel tests in parallel never share addresses, host routes or IPAM files.</summary>
public sealed class TestNetwork
{
    private static int counter;

    public TestNetwork(string version = "1.1.0", bool ipv4 = true, bool ipv6 = false, string ipamType = "cni-egress",
        bool ipMasq = false, int? mtu = null, int prefix4 = 24)
    {
        int n = Interlocked.Increment(ref counter) + (Environment.ProcessId % 50) * 100;
        Name = "net" + n.ToString(CultureInfo.InvariantCulture);
        // /24 and longer: one /24 per network; shorter: aligned blocks of 10.251.0.0/16.
        Subnet4 = prefix4 >= 24 ? $"10.{64 + n / 250}.{n % 250}.0/{prefix4}"
            : $"10.251.{(n % (256 >> (24 - prefix4))) << (24 - prefix4)}.0/{prefix4}";
        Subnet6 = $"fd00:{n:x}::/112";
        StateDir = $"/run/cni-egress-test/{Name}";
        var ranges = new JsonArray();
        if (ipv4) ranges.Add(new JsonArray(new JsonObject { ["subnet"] = Subnet4 }));
        if (ipv6) ranges.Add(new JsonArray(new JsonObject { ["subnet"] = Subnet6 }));
        var ipam = new JsonObject { ["type"] = ipamType, ["ranges"] = ranges };
        if (ipamType == "host-local") ipam["dataDir"] = StateDir + "/host-local";
        Json = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = Name,
            ["type"] = "cni-egress",
            ["ipMasq"] = ipMasq,
            ["stateDir"] = StateDir,
            ["policyAgent"] = "off", // the plugin alone: no agent runs in these tests
            ["ipam"] = ipam,
        };
        if (mtu != null) Json["mtu"] = mtu;
    }

    public string Name { get; }
    public string Subnet4 { get; }
    public string Subnet6 { get; }
    public string StateDir { get; }
    public JsonObject Json { get; }

    public string Config => Json.ToJsonString();

    public string With(Action<JsonObject> change)
    {
        var copy = Json.DeepClone().AsObject();
        change(copy);
        return copy.ToJsonString();
    }

    public CniPluginProcess.Response Add(PodNamespace pod, string containerId, string ifname = "eth0", string args = "") =>
        CniPluginProcess.Invoke("ADD", Config, containerId, pod.Path, ifname, args);

    public CniPluginProcess.Response Del(string containerId, string netns = "", string ifname = "eth0", JsonObject? prevResult = null) =>
        CniPluginProcess.Invoke("DEL", prevResult == null ? Config : With(j => j["prevResult"] = prevResult.DeepClone()), containerId, netns, ifname);

    public CniPluginProcess.Response Check(PodNamespace pod, string containerId, JsonObject prevResult, string ifname = "eth0") =>
        CniPluginProcess.Invoke("CHECK", With(j => j["prevResult"] = prevResult.DeepClone()), containerId, pod.Path, ifname);

    public CniPluginProcess.Response Gc(params (string ContainerId, string IfName)[] valid) =>
        CniPluginProcess.Invoke("GC", With(j => j["cni.dev/valid-attachments"] = new JsonArray(
            valid.Select(v => (JsonNode)new JsonObject { ["containerID"] = v.ContainerId, ["ifname"] = v.IfName }).ToArray())));

    public IReadOnlyList<string> StateFiles() =>
        Directory.Exists(StateDir) ? Directory.EnumerateFiles(StateDir, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("lock", StringComparison.Ordinal) && !Path.GetFileName(f).StartsWith("last_reserved", StringComparison.Ordinal)
                        && !Path.GetFileName(f).StartsWith("nat-", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(StateDir, f)).Order().ToList() : [];
}
