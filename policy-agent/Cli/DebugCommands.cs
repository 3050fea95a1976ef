using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using CniEgress.PolicyAgent.Diagnostics;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>The node-level debug commands that ask questions of the node's state: `status`,
/// `explain` and `ruleset`. Each asks the agent (or, when it is down, computes the answer here)
/// and prints a JSON document (`--output json`) or text for people.</summary>
public static class DebugCommands
{
    /// <summary>The options every debug command takes.</summary>
    public sealed class Common
    {
        public Option<string> StateDir { get; } = new("--state-dir") { Description = "the CNI plugin's stateDir (the agent's socket and the attachment records)", DefaultValueFactory = _ => "/run/cni-egress" };
        public Option<string> Manifests { get; } = new("--manifests") { Description = "when the agent is down, compile the policies of this folder here instead" };
        public Option<string> Output { get; } = new Option<string>("--output", "-o") { Description = "table (for people) or json (for scripts)", DefaultValueFactory = _ => "table" }.AcceptOnlyFromAmong("table", "json");

        public void AddTo(Command command)
        {
            command.Options.Add(StateDir);
            command.Options.Add(Manifests);
            command.Options.Add(Output);
        }

        public NodeAccess Access(ParseResult parsed) => new(parsed.GetValue(StateDir)!, parsed.GetValue(Manifests));

        public bool Json(ParseResult parsed) => parsed.GetValue(Output) == "json";
    }

    public static Command Status()
    {
        var common = new Common();
        var command = new Command("status", "local pods, whether each is isolated and by which policies, sync state, kernel element counts, agent health");
        common.AddTo(command);
        command.SetAction(parsed => Guard(() =>
        {
            var access = common.Access(parsed);
            var answer = Answer(access, new JsonObject { ["command"] = "status" });
            Print(parsed, common, access, answer, RenderStatus);
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Explain()
    {
        var common = new Common();
        var from = new Option<string>("--from") { Description = "where the flow starts: NAMESPACE/POD or an ADDRESS (the flow's source or its destination must be a pod of this node)", Required = true };
        var to = new Option<string>("--to") { Description = "ADDRESS[:PORT[/PROTO]] or NAMESPACE/POD[:PORT[/PROTO]] ([v6]:PORT for IPv6); tcp by default; without a port: which ports are open", Required = true };
        var kernel = new Option<bool>("--kernel") { Description = "also evaluate the flow against the live kernel sets and say whether they agree" };
        var command = new Command("explain", "whether a connection from or to a pod of this node is allowed (its source's egress, its destination's ingress), the rule that allows it, or why every candidate rule does not") { from, to, kernel };
        common.AddTo(command);
        command.SetAction(parsed => Guard(() =>
        {
            var access = common.Access(parsed);
            var question = new JsonObject { ["command"] = "explain", ["from"] = parsed.GetValue(from), ["to"] = parsed.GetValue(to), ["kernel"] = parsed.GetValue(kernel) };
            var answer = Answer(access, question);
            if (!access.KnowsPolicies)
                throw new CliException($"{access.Offline}; explain needs the policies: start the agent or give --manifests DIR");
            Print(parsed, common, access, answer, RenderExplain);
            if (answer["kernel"] is JsonObject live && (bool?)live["agrees"] == false) return ExitCodes.KernelDiffers;
            return (bool?)answer["allowed"] == true ? ExitCodes.Ok : ExitCodes.Denied;
        }));
        return command;
    }

    public static Command Ruleset()
    {
        var common = new Common();
        var diff = new Option<bool>("--diff") { Description = "compare the desired state with the live kernel table, pod by pod (exit 4 when they differ)" };
        var command = new Command("ruleset", "per local pod: its policies and what they allow; --diff: where the kernel differs") { diff };
        common.AddTo(command);
        command.SetAction(parsed => Guard(() =>
        {
            var access = common.Access(parsed);
            var answer = Answer(access, new JsonObject { ["command"] = "ruleset", ["diff"] = parsed.GetValue(diff) });
            Print(parsed, common, access, answer, RenderRuleset);
            return answer["differences"] is JsonArray { Count: > 0 } ? ExitCodes.KernelDiffers : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The answer, or the one-line error it carries as <see cref="ExitCodes.BadInput"/>.</summary>
    internal static JsonObject Answer(NodeAccess access, JsonObject question)
    {
        JsonObject answer;
        try { answer = access.Ask(question); }
        catch (QueryException e) { throw new CliException(e.Message, ExitCodes.BadInput); }
        if ((string?)answer["error"] is { } error) throw new CliException(error, ExitCodes.BadInput);
        return answer;
    }

    private static void Print(ParseResult parsed, Common common, NodeAccess access, JsonObject answer, Func<JsonObject, string> render)
    {
        if (common.Json(parsed))
        {
            Console.Out.WriteLine(answer.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        if (access.Offline != null) Console.Error.WriteLine("note: " + answer["source"]);
        Console.Out.Write(render(answer));
    }

    private static string RenderStatus(JsonObject status)
    {
        var text = new StringBuilder();
        text.Append("source:  ").Append(status["source"]).Append('\n');
        if (status["agent"] is JsonObject agent)
        {
            text.Append("health:  ").Append(agent["health"]).Append(", up since ").Append(agent["started"]).Append('\n');
            text.Append("sync:    last full sync ").Append(agent["lastFullSync"]?.ToString() ?? "never")
                .Append(", ").Append(agent["fullSyncs"]).Append(" full, ").Append(agent["incrementalUpdates"]).Append(" incremental, ")
                .Append(agent["driftRepairs"]).Append(" drift repairs, ").Append(agent["pendingChanges"] is JsonNode p && (bool)p ? "changes pending" : "nothing pending").Append('\n');
        }
        var kernel = status["kernel"]!;
        text.Append("kernel:  ").Append((bool)kernel["table"]! ? $"table inet {Nftables.NftRuleset.Table}, {kernel["elements"]} elements" : $"no table inet {Nftables.NftRuleset.Table}").Append('\n');
        foreach (var problem in status["problems"]!.AsArray()) text.Append("problem: ").Append(problem).Append('\n');
        text.Append('\n');
        var table = new TextTable("POD", "INTERFACE", "ADDRESSES", "EGRESS", "INGRESS");
        foreach (var pod in status["pods"]!.AsArray().OfType<JsonObject>())
            table.Add(pod["pod"]!.ToString(), pod["interface"]!.ToString(), Join(pod["addresses"]),
                (bool)pod["isolated"]! ? Join(pod["policies"], "(unknown policies)") : "open",
                (bool)pod["ingressIsolated"]! ? Join(pod["ingressPolicies"], "(unknown policies)") : "open");
        return text.Append(table).ToString();
    }

    private static string RenderExplain(JsonObject answer)
    {
        var text = new StringBuilder();
        string destination = answer["destinationPod"] is { } pod ? $"{answer["destination"]} ({pod}{(answer["destinationInterface"] is { } at ? ", " + at : "")})" : answer["destination"]!.ToString();
        string source = answer["from"]!.ToString() == answer["sourceAddress"]!.ToString() ? answer["from"]!.ToString()
            : $"{answer["from"]} ({answer["sourceAddress"]}{(answer["interface"] is { } on ? ", " + on : "")})";
        text.Append(source).Append(" -> ").Append(destination);
        if (answer["allowedPorts"] is JsonArray open)
            text.Append(": ").Append(open.Count > 0 ? "ALLOWED on " + Join(open) : "DENIED on every port").Append('\n');
        else
            text.Append(' ').Append(answer["protocol"]).Append('/').Append(answer["port"]).Append(": ").Append((bool)answer["allowed"]! ? "ALLOWED" : "DENIED").Append('\n');
        if (answer["egress"] is JsonObject egress && answer["ingress"] is JsonObject ingress && (bool)egress["isolated"]! && (bool)ingress["isolated"]!)
            text.Append("egress:  ").Append(egress["summary"]).Append("\ningress: ").Append(ingress["summary"]).Append('\n');
        else
            text.Append(answer["summary"]).Append('\n');
        foreach (var rule in answer["rules"]!.AsArray().OfType<JsonObject>())
        {
            text.Append("  ").Append(rule["rule"]).Append(rule["opens"] is { } opens ? $": opens {opens}\n" : (bool)rule["allows"]! ? ": allows it\n" : ": does not match\n");
            foreach (var reason in rule["reasons"]!.AsArray()) text.Append("      ").Append(reason).Append('\n');
        }
        if (answer["warning"] is { } warning) text.Append("WARNING: ").Append(warning).Append('\n');
        if (answer["kernel"] is JsonObject kernel)
            text.Append("kernel: ").Append(!(bool)kernel["table"]! ? "no table inet " + Nftables.NftRuleset.Table
                : (bool)kernel["agrees"]! ? $"agrees ({((bool)kernel["allowed"]! ? "allowed" : "denied")})"
                : $"DISAGREES: the live sets {((bool)kernel["allowed"]! ? "allow" : "deny")} it").Append('\n');
        return text.ToString();
    }

    private static string RenderRuleset(JsonObject answer)
    {
        var text = new StringBuilder();
        foreach (var pod in answer["pods"]!.AsArray().OfType<JsonObject>())
        {
            text.Append(pod["pod"]).Append(" (").Append(pod["interface"]).Append(", ").Append(Join(pod["addresses"])).Append(") ")
                .Append((bool)pod["isolated"]! ? "isolated by " + Join(pod["policies"], "(unknown policies)") : "not isolated").Append('\n');
            var allows = pod["allows"]!.AsArray();
            if ((bool)pod["isolated"]! && allows.Count == 0) text.Append("  allows nothing\n");
            else foreach (var line in allows) text.Append("  ").Append(line).Append('\n');
            text.Append("  ingress: ").Append((bool)pod["ingressIsolated"]! ? "isolated by " + Join(pod["ingressPolicies"], "(unknown policies)") : "not isolated").Append('\n');
            var accepts = pod["accepts"]!.AsArray();
            if ((bool)pod["ingressIsolated"]! && accepts.Count == 0) text.Append("    accepts nothing\n");
            else if ((bool)pod["ingressIsolated"]!) foreach (var line in accepts) text.Append("    ").Append(line).Append('\n');
        }
        if (answer["differences"] is JsonArray differences)
        {
            text.Append(differences.Count == 0 ? "\nkernel: matches the desired state\n" : $"\nkernel: {differences.Count} difference(s)\n");
            foreach (var difference in differences) text.Append("  ").Append(difference).Append('\n');
        }
        return text.ToString();
    }

    private static string Join(JsonNode? array, string empty = "") =>
        array is JsonArray { Count: > 0 } items ? string.Join(",", items.Select(i => i!.ToString())) : empty;

    /// <summary>One line on stderr and the failure's exit code, never a stack trace.</summary>
    internal static int Guard(Func<int> action)
    {
        try
        {
            // The agent's socket, nftables and capture are all root's: say so once, up front.
            if (!Environment.IsPrivilegedProcess) throw new CliException("the debug commands need root (the agent's socket, nftables and packet capture)");
            return action();
        }
        catch (CliException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return e.Code;
        }
        catch (Exception e) when (e is Nftables.NftException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException
            or SharpPcap.PcapException or DllNotFoundException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return ExitCodes.Failed;
        }
    }
}
