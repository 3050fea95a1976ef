using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CniEgress.Net;
using CniEgress.PolicyAgent.Diagnostics;
using CniEgress.PolicyAgent.Nftables;
using SharpPcap;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>`flows`: a live view of the connections our rules deny (and, asked, allow), read
/// from the ruleset's NFLOG taps with libpcap's nflog device, each named with its pod and the
/// policy verdict's reason.</summary>
public static class FlowsCommand
{
    public static Command Build()
    {
        var common = new DebugCommands.Common();
        var verdict = new Option<string>("--verdict") { Description = "denied (default), allowed (new connections) or any", DefaultValueFactory = _ => "denied" }.AcceptOnlyFromAmong("denied", "allowed", "any");
        var ns = new Option<string>("--namespace", "-n") { Description = "only pods of this namespace" };
        var pod = new Option<string>("--pod") { Description = "only this pod (NAMESPACE/POD)" };
        var to = new Option<string>("--to") { Description = "only flows to this address or CIDR" };
        var bounds = new WatchBounds("flows");
        var group = new Option<int>("--log-group") { Description = "the agent's --log-group: the taps are the next two groups", DefaultValueFactory = _ => NftRuleset.DefaultLogGroup };
        var command = new Command("flows", "live denied (and allowed) connections of this node's pods, with the policy that decided; Ctrl-C ends it") { verdict, ns, pod, to, group };
        common.AddTo(command);
        bounds.AddTo(command);
        command.SetAction(parsed => DebugCommands.Guard(() =>
        {
            var filter = new FlowFilter(parsed.GetValue(ns), parsed.GetValue(pod), ParseRange(parsed.GetValue(to)));
            var options = new NftRuleset.Options(LogGroup: parsed.GetValue(group));
            string which = parsed.GetValue(verdict)!;
            var groups = new List<int>();
            if (which is "denied" or "any") groups.Add(options.DeniedTap);
            if (which is "allowed" or "any") groups.Add(options.AllowedTap);
            CheckGroups(groups, options.LogGroup);
            using var limit = bounds.Start(parsed);
            return new FlowWatch(common.Access(parsed), filter, common.Json(parsed), limit).Run(groups);
        }));
        return command;
    }

    private static AddressRange? ParseRange(string? text)
    {
        if (text == null) return null;
        if (System.Net.IPAddress.TryParse(text, out var address)) return AddressRange.Host(address);
        if (InterfaceAddress.TryParse(text, out var cidr)) return AddressRange.Of(cidr.Network);
        throw new CliException($"--to '{text}' is neither an address nor a CIDR", ExitCodes.BadInput);
    }

    /// <summary>Our rules must log to the groups, or the watch would wait for nothing.</summary>
    private static void CheckGroups(List<int> groups, int logGroup)
    {
        var table = new NftCommand("nft").ReadTable()
            ?? throw new CliException($"no table inet {NftRuleset.Table} in this network namespace: is the agent running on this node?");
        var used = table.LogStatements.Select(l => l.Group).ToHashSet();
        foreach (int group in groups.Where(g => !used.Contains(g)))
            throw new CliException($"no rule of table inet {NftRuleset.Table} logs to NFLOG group {group} (--log-group {logGroup} must be the agent's; it logs to {string.Join(", ", used.Order())})", ExitCodes.BadInput);
    }

    private sealed record FlowFilter(string? Namespace, string? Pod, AddressRange? To)
    {
        public bool Passes(string pod, FlowTuple flow) =>
            (Namespace == null || pod.StartsWith(Namespace + "/", StringComparison.Ordinal))
            && (Pod == null || pod == Pod)
            && (To is not { } range || range.Contains(flow.Destination));
    }

    /// <summary>One watch: the taps' packets, deduplicated per connection, explained, printed.</summary>
    private sealed class FlowWatch(NodeAccess access, FlowFilter filter, bool json, WatchLimit limit)
    {
        private readonly Lock gate = new();
        private readonly InterfaceNames interfaceNames = new();
        private readonly Dictionary<string, long> recent = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> reasons = new(StringComparer.Ordinal);
        private Dictionary<string, string> podOfInterface = new(StringComparer.Ordinal);
        private long podsReadAt;

        public int Run(List<int> groups)
        {
            ReadPods();
            if (access.Offline != null) Console.Error.WriteLine($"note: {access.Offline}; pods and reasons are computed here");
            if (!json) Console.Out.WriteLine(Row("TIME", "POD", "SIDE", "CONNECTION", "VERDICT", "REASON"));
            var devices = new List<ICaptureDevice>();
            try
            {
                foreach (int group in groups)
                {
                    var device = PcapDevices.Nflog(group);
                    device.Open(new DeviceConfiguration { ReadTimeout = 100, Immediate = true, Snaplen = 512 });
                    device.OnPacketArrival += (_, capture) => Handle(capture);
                    device.StartCapture();
                    devices.Add(device);
                }
                Console.Error.WriteLine($"watching NFLOG group(s) {string.Join(", ", groups)}");
                limit.Wait();
            }
            catch (PcapException e)
            {
                throw new CliException($"cannot read NFLOG group {string.Join("/", groups)}: {e.Message}");
            }
            finally
            {
                foreach (var device in devices)
                {
                    device.StopCapture();
                    device.Close();
                }
            }
            return ExitCodes.Ok;
        }

        private void Handle(PacketCapture capture)
        {
            var record = NflogRecord.Parse(capture.Data);
            if (record == null || FlowTuple.Of(record.Payload) is not { } flow) return;
            lock (gate)
            {
                if (limit.IsDone) return;
                // The pod is where the packet came from (egress) or where it was going (ingress).
                string chain = record.Prefix.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) ?? "-";
                var direction = SlotNames.DirectionOf(chain);
                string iface = interfaceNames.Of(direction == Policy.Direction.Egress ? record.InputInterface : record.OutputInterface);
                string key = $"{iface} {flow}";
                long now = Stopwatch.GetTimestamp();
                // A denied SYN is retried: one line per connection, not per packet.
                if (recent.TryGetValue(key, out long seen) && Stopwatch.GetElapsedTime(seen, now) < TimeSpan.FromSeconds(10)) return;
                recent[key] = now;
                if (recent.Count > 10_000) recent.Clear();
                if (!podOfInterface.ContainsKey(iface) && Stopwatch.GetElapsedTime(podsReadAt) > TimeSpan.FromSeconds(1)) ReadPods();
                string pod = podOfInterface.GetValueOrDefault(iface, $"(unknown pod on {iface})");
                if (!filter.Passes(pod, flow)) return;
                bool allowed = record.Prefix.StartsWith(NftRuleset.AllowPrefix, StringComparison.Ordinal);
                string reason = Reason(pod, direction, flow, allowed, chain);
                Print(pod, iface, direction, flow, allowed, reason);
                limit.Counted();
            }
        }

        private void ReadPods()
        {
            podsReadAt = Stopwatch.GetTimestamp();
            var status = DebugCommands.Answer(access, new JsonObject { ["command"] = "status" });
            podOfInterface = status["pods"]!.AsArray().OfType<JsonObject>()
                .ToDictionary(p => p["interface"]!.ToString(), p => p["pod"]!.ToString(), StringComparer.Ordinal);
        }

        /// <summary>The policy verdict's reason on the side that logged it, from explain; once per pod, side and peer.</summary>
        private string Reason(string pod, Policy.Direction direction, FlowTuple flow, bool allowed, string chain)
        {
            if (chain == "-") return "not isolated: no egress policy selects the pod";
            if (!access.KnowsPolicies || !flow.HasPorts || pod.StartsWith('(')) return (allowed ? "allowed by " : "denied by ") + "class chain " + chain;
            bool egress = direction == Policy.Direction.Egress;
            // Ingress: from the packet's source to this pod's port (the destination address is the pod's).
            var question = egress
                ? new JsonObject { ["command"] = "explain", ["from"] = pod, ["to"] = flow.DestinationText }
                : new JsonObject { ["command"] = "explain", ["from"] = flow.Source.ToString(), ["to"] = flow.DestinationText };
            string key = $"{direction} {pod} {question["from"]} {flow.DestinationText}";
            if (reasons.TryGetValue(key, out var known)) return known;
            string reason;
            try
            {
                var answer = DebugCommands.Answer(access, question);
                reason = (answer[egress ? "egress" : "ingress"]?["summary"] ?? answer["summary"])!.ToString();
            }
            catch (CliException e)
            {
                reason = "(" + e.Message + ")";
            }
            return reasons[key] = reason;
        }

        /// <summary>Streamed rows cannot be measured first: fixed widths that fit most names.</summary>
        private static string Row(string time, string pod, string direction, string connection, string verdict, string reason) =>
            $"{time,-12}  {pod,-28}  {direction,-7}  {connection,-44}  {verdict,-7}  {reason}";

        private void Print(string pod, string iface, Policy.Direction direction, FlowTuple flow, bool allowed, string reason)
        {
            bool egress = direction == Policy.Direction.Egress;
            string time = DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
            if (json)
            {
                Console.Out.WriteLine(new JsonObject
                {
                    ["time"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                    ["pod"] = pod,
                    ["interface"] = iface,
                    ["direction"] = egress ? "egress" : "ingress",
                    ["source"] = flow.Source.ToString(),
                    ["destination"] = flow.DestinationText,
                    ["verdict"] = allowed ? "allowed" : "denied",
                    ["reason"] = reason,
                }.ToJsonString());
            }
            else
            {
                Console.Out.WriteLine(Row(time, pod, egress ? "egress" : "ingress", egress ? "to " + flow.DestinationText : $"from {flow.Source} to {flow.DestinationText}",
                    allowed ? "allowed" : "DENIED", reason));
            }
            Console.Out.Flush();
        }
    }
}
