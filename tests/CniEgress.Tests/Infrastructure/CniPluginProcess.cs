using System.Text;
using System.Text.Json.Nodes;
using CniEgress.Processes;

namespace CniEgress.Tests.Infrastructure;

/// <summary>Execs dist/cni-egress exactly as a runtime does: config on stdin, CNI_* in the environment.</summary>
public static class CniPluginProcess
{
    public static string Binary
    {
        get
        {
            string path = System.IO.Path.Combine(Sandbox.RepoRoot, "dist", "cni-egress");
            return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: run ./build.sh first");
        }
    }

    public static string PluginDir => System.IO.Path.GetDirectoryName(Binary)! + ":/usr/lib/cni";

    public sealed record Response(int ExitCode, string Stdout, string Stderr)
    {
        public JsonObject Json => JsonNode.Parse(Stdout)?.AsObject() ?? throw new InvalidOperationException("empty stdout");

        public int ErrorCode => (int)Json["code"]!;

        public override string ToString() => $"exit {ExitCode}: {Stdout}{Stderr}";
    }

    public static Response Invoke(string command, string config, string containerId = "", string netns = "", string ifname = "eth0",
        string args = "", string? cniPath = null, string? binary = null, IDictionary<string, string>? extraEnv = null,
        string[]? runUnder = null)
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_NETNS"] = netns,
            ["CNI_IFNAME"] = ifname,
            ["CNI_ARGS"] = args,
            ["CNI_PATH"] = cniPath ?? PluginDir,
        };
        if (extraEnv != null) foreach (var (k, v) in extraEnv) env[k] = v;
        // runUnder: a command that execs the plugin (strace ...), given the plugin's path as its last argument.
        var outcome = runUnder is [var tool, .. var toolArgs]
            ? ProcessRunner.Run(tool, [.. toolArgs, binary ?? Binary], Encoding.UTF8.GetBytes(config), TimeSpan.FromSeconds(30), env)
            : ProcessRunner.Run(binary ?? Binary, [], Encoding.UTF8.GetBytes(config), TimeSpan.FromSeconds(30), env);
        return new Response(outcome.ExitCode, outcome.Stdout, outcome.Stderr);
    }
}
