using System.CommandLine;
using System.Runtime.InteropServices;
using CniEgress.PolicyAgent.Agent;
using CniEgress.PolicyAgent.Nftables;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>The command line: `run` (the agent), `cleanup`, the node-level debug commands
/// (`status`, `explain`, `flows`, `capture`, `ruleset`) and `completion`.</summary>
public static class AgentCommands
{
    public static RootCommand Build()
    {
        var root = new RootCommand("egress-agent: NetworkPolicy egress enforcement for cni-egress nodes");
        root.Subcommands.Add(Run());
        root.Subcommands.Add(Cleanup());
        root.Subcommands.Add(DebugCommands.Status());
        root.Subcommands.Add(DebugCommands.Explain());
        root.Subcommands.Add(FlowsCommand.Build());
        root.Subcommands.Add(CaptureCommand.Build());
        root.Subcommands.Add(DebugCommands.Ruleset());
        root.Subcommands.Add(CompletionCommand.Build());
        return root;
    }

    private static Command Run()
    {
        var manifests = new Option<string>("--manifests") { Description = "read Namespace, Pod and NetworkPolicy manifests from this folder (reloaded on change) instead of the Kubernetes API" };
        var kubeconfig = new Option<string>("--kubeconfig") { Description = "watch the Kubernetes API named by this kubeconfig (default: the in-cluster service account)" };
        var node = new Option<string>("--node-name") { Description = "this node's name", Required = true };
        var stateDir = new Option<string>("--state-dir") { Description = "the CNI plugin's stateDir (attachment records)", DefaultValueFactory = _ => "/run/cni-egress" };
        var reject = new Option<bool>("--reject") { Description = "reject denied connections (TCP reset, ICMP admin-prohibited) instead of dropping them" };
        var logGroup = new Option<int>("--log-group") { Description = "NFLOG group for denied packets", DefaultValueFactory = _ => NftRuleset.DefaultLogGroup };
        var json = new Option<bool>("--log-json") { Description = "log one JSON object per line ({\"time\", \"msg\"}) for log collectors" };
        var status = new Option<string>("--status-address") { Description = "host:port for /healthz, /readyz and /metrics (empty: none)", DefaultValueFactory = _ => "127.0.0.1:9765" };
        var verify = new Option<double>("--verify-interval") { Description = "seconds between checks that the kernel still holds our table and all its rules (drift is repaired by a full sync)", DefaultValueFactory = _ => 10 };
        var command = new Command("run", "enforce egress NetworkPolicy on this node until stopped (the rules stay in the kernel after)") { manifests, kubeconfig, node, stateDir, reject, logGroup, status, json, verify };
        command.Validators.Add(result =>
        {
            if (result.GetValue(manifests) != null && result.GetValue(kubeconfig) != null)
                result.AddError("--manifests and --kubeconfig are two different sources: give one");
            if (result.GetResult(verify) != null && result.GetValue(verify) is not (>= 0.1 and <= 3600))
                result.AddError("--verify-interval is in seconds, 0.1 to 3600");
        });
        command.SetAction(parsed =>
        {
            var settings = new AgentSettings(parsed.GetValue(node)!, parsed.GetValue(stateDir)!,
                new NftRuleset.Options(Reject: parsed.GetValue(reject), LogGroup: parsed.GetValue(logGroup)))
            {
                StatusAddress = parsed.GetValue(status) is { Length: > 0 } address ? address : null,
                ManifestFolder = parsed.GetValue(manifests),
                Kubeconfig = parsed.GetValue(kubeconfig),
                VerifyInterval = TimeSpan.FromSeconds(parsed.GetValue(verify)),
            };
            using var stop = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
            Action<string> log = parsed.GetValue(json) ? LogJson : Log;
            return Guarded(() => new AgentLoop(settings, log).Run(stop.Token));
        });
        return command;
    }

    private static Command Cleanup()
    {
        var command = new Command("cleanup", $"remove everything the agent created on this node (table inet {NftRuleset.Table}, routes to other nodes' pods)");
        command.SetAction(_ => Guarded(() =>
        {
            using var routes = CniEgress.Netlink.Route.RouteNetlinkClient.Open();
            int removed = Agent.NodeRoutes.RemoveAll(routes);
            if (removed > 0) Log($"removed {removed} route(s) to other nodes' pod CIDRs");
            using var nftables = CniEgress.Netlink.Nftables.NftablesNetlinkClient.Open();
            if (!nftables.TableExists(CniEgress.Netlink.Nftables.NftFamily.Inet, NftRuleset.Table))
            {
                if (removed == 0) Log($"table inet {NftRuleset.Table} is not there: nothing to remove");
                return 0;
            }
            new NftCommand("nft").Apply($"delete table inet {NftRuleset.Table}\n");
            Log($"removed table inet {NftRuleset.Table}");
            return 0;
        }));
        return command;
    }

    /// <summary>One line and exit code 1 for a failure the agent cannot handle, never a stack trace.</summary>
    private static int Guarded(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is NftException or CniEgress.Netlink.NetlinkException or IOException or UnauthorizedAccessException
            or System.Net.HttpListenerException or k8s.Exceptions.KubeConfigException)
        {
            Log("error: " + e.Message);
            return 1;
        }
    }

    private static void Log(string message) =>
        Console.Error.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {message}");

    private static void LogJson(string message) =>
        Console.Error.WriteLine(new System.Text.Json.Nodes.JsonObject { ["time"] = DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture), ["msg"] = message }.ToJsonString());
}
