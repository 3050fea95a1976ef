using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
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
        var count = new Option<int?>("--count", "-c") { Description = "stop after this many flows" };
        var duration = new Option<double?>("--duration", "-d") { Description = "stop after this many seconds" };
        var group = new Option<int>("--log-group") { Description = "the agent's --log-group: the taps are the next two groups", DefaultValueFactory = _ => EgressRuleset.DefaultLogGroup };
        var command = new Command("flows", "live denied (and allowed) connections of this node's pods, with the policy that decided; Ctrl-C ends it") { verdict, ns, pod, to, count, duration, group };
        common.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetResult(count) != null && result.GetValue(count) is not > 0) result.AddError("--count must be at least 1");
            if (result.GetResult(duration) != null && result.GetValue(duration) is not > 0) result.AddError("--duration must be more than 0 seconds");
        });
        command.SetAction(parsed => DebugCommands.Guard(() =>
        {
            var filter = new FlowFilter(parsed.GetValue(ns), parsed.GetValue(pod), ParseRange(parsed.GetValue(to)));
            var options = new EgressRuleset.Options(LogGroup: parsed.GetValue(group));
            string which = parsed.GetValue(verdict)!;
            var groups = new List<int>();
            if (which is "denied" or "any") groups.Add(options.DeniedTap);
            if (which is "allowed" or "any") groups.Add(options.AllowedTap);
            CheckGroups(groups, options.LogGroup);
            using var watch = new FlowWatch(common.Access(parsed), filter, common.Json(parsed));
            return watch.Run(groups, parsed.GetValue(count), parsed.GetValue(duration) is { } seconds ? TimeSpan.FromSeconds(seconds) : null);
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
            ?? throw new CliException($"no table inet {EgressRuleset.Table} in this network namespace: is the agent running on this node?");
        var used = table.LogStatements.Select(l => l.Group).ToHashSet();
        foreach (int group in groups.Where(g => !used.Contains(g)))
            throw new CliException($"no rule of table inet {EgressRuleset.Table} logs to NFLOG group {group} (--log-group {logGroup} must be the agent's; it logs to {string.Join(", ", used.Order())})", ExitCodes.BadInput);
    }

    private sealed record FlowFilter(string? Namespace, string? Pod, AddressRange? To)
    {
        public bool Passes(string pod, FlowTuple flow) =>
            (Namespace == null || pod.StartsWith(Namespace + "/", StringComparison.Ordinal))
            && (Pod == null || pod == Pod)
            && (To is not { } range || range.Contains(flow.Destination));
    }

    /// <summary>One watch: the taps' packets, deduplicated per connection, explained, printed.</summary>
    private sealed class FlowWatch(NodeAccess access, FlowFilter filter, bool json) : IDisposable
    {
        private readonly Lock gate = new();
        private readonly InterfaceNames interfaceNames = new();
        private readonly Dictionary<string, long> recent = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> reasons = new(StringComparer.Ordinal);
        private readonly ManualResetEventSlim done = new();
        private Dictionary<string, string> podOfInterface = new(StringComparer.Ordinal);
        private long podsReadAt;
        private int shown;
        private int? limit;

        public void Dispose() => done.Dispose();

        public int Run(List<int> groups, int? count, TimeSpan? duration)
        {
            limit = count;
            ReadPods();
            if (access.Offline != null) Console.Error.WriteLine($"note: {access.Offline}; pods and reasons are computed here");
            if (!json) Console.Out.WriteLine(Row("TIME", "POD", "DESTINATION", "VERDICT", "REASON"));
            var devices = new List<ICaptureDevice>();
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; done.Set(); });
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; done.Set(); });
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
                done.Wait(duration ?? Timeout.InfiniteTimeSpan);
            }
            catch (PcapException e)
            {
                throw new CliException($"cannot read NFLOG group {string.Join("/", groups)}: {e.Message}" + (Environment.UserName == "root" ? "" : " (run as root)"));
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
                if (done.IsSet) return;
                string iface = interfaceNames.Of(record.InputInterface);
                string key = $"{iface} {flow}";
                long now = Stopwatch.GetTimestamp();
                // A denied SYN is retried: one line per connection, not per packet.
                if (recent.TryGetValue(key, out long seen) && Stopwatch.GetElapsedTime(seen, now) < TimeSpan.FromSeconds(10)) return;
                recent[key] = now;
                if (recent.Count > 10_000) recent.Clear();
                if (!podOfInterface.ContainsKey(iface) && Stopwatch.GetElapsedTime(podsReadAt) > TimeSpan.FromSeconds(1)) ReadPods();
                string pod = podOfInterface.GetValueOrDefault(iface, $"(unknown pod on {iface})");
                if (!filter.Passes(pod, flow)) return;
                bool allowed = record.Prefix.StartsWith(EgressRuleset.AllowPrefix, StringComparison.Ordinal);
                string reason = Reason(pod, flow, allowed, record.Prefix);
                Print(pod, iface, flow, allowed, reason);
                if (limit is { } max && ++shown >= max) done.Set();
            }
        }

        private void ReadPods()
        {
            podsReadAt = Stopwatch.GetTimestamp();
            var status = DebugCommands.Answer(access, new JsonObject { ["command"] = "status" });
            podOfInterface = status["pods"]!.AsArray().OfType<JsonObject>()
                .ToDictionary(p => p["interface"]!.ToString(), p => p["pod"]!.ToString(), StringComparer.Ordinal);
        }

        /// <summary>The policy verdict's reason, from explain; once per pod and destination.</summary>
        private string Reason(string pod, FlowTuple flow, bool allowed, string prefix)
        {
            if (prefix.StartsWith(EgressRuleset.AllowPrefix + "- ", StringComparison.Ordinal)) return "not isolated: no egress policy selects the pod";
            if (!access.KnowsPolicies || !flow.HasPorts || pod.StartsWith('(')) return (allowed ? "allowed by " : "denied by ") + "class chain " + prefix.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1);
            string key = $"{pod} {flow.DestinationText}";
            if (reasons.TryGetValue(key, out var known)) return known;
            string reason;
            try
            {
                var answer = DebugCommands.Answer(access, new JsonObject { ["command"] = "explain", ["from"] = pod, ["to"] = flow.DestinationText });
                reason = answer["summary"]!.ToString();
            }
            catch (CliException e)
            {
                reason = "(" + e.Message + ")";
            }
            return reasons[key] = reason;
        }

        /// <summary>Streamed rows cannot be measured first: fixed widths that fit most names.</summary>
        private static string Row(string time, string pod, string destination, string verdict, string reason) =>
            $"{time,-12}  {pod,-28}  {destination,-28}  {verdict,-7}  {reason}";

        private void Print(string pod, string iface, FlowTuple flow, bool allowed, string reason)
        {
            string time = DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
            if (json)
            {
                Console.Out.WriteLine(new JsonObject
                {
                    ["time"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                    ["pod"] = pod,
                    ["interface"] = iface,
                    ["source"] = flow.Source.ToString(),
                    ["destination"] = flow.DestinationText,
                    ["verdict"] = allowed ? "allowed" : "denied",
                    ["reason"] = reason,
                }.ToJsonString());
            }
            else
            {
                Console.Out.WriteLine(Row(time, pod, flow.DestinationText, allowed ? "allowed" : "DENIED", reason));
            }
            Console.Out.Flush();
        }
    }
}
