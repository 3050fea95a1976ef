using System.CommandLine;
using System.Globalization;
using CniEgress.PolicyAgent.Sources;
using CniEgress.State;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>`capture --pod NS/POD`: the packets on a pod's host veth (libpcap through SharpPcap),
/// printed one line each and optionally written to a pcap file.</summary>
public static class CaptureCommand
{
    public static Command Build()
    {
        var pod = new Option<string>("--pod") { Description = "the pod: NAMESPACE/POD (on this node)", Required = true };
        var write = new Option<string>("--write", "-w") { Description = "also write the packets to this pcap file (tcpdump -r, Wireshark)" };
        var bounds = new WatchBounds("packets");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "print no packet lines (with -w)" };
        var output = new Option<string>("--output", "-o") { Description = "table (a line per packet) or json (an object per packet, per line)", DefaultValueFactory = _ => "table" }.AcceptOnlyFromAmong("table", "json");
        var stateDir = new Option<string>("--state-dir") { Description = "the CNI plugin's stateDir (attachment records)", DefaultValueFactory = _ => "/run/cni-egress" };
        var filter = new Argument<string[]>("filter") { Description = "a pcap filter expression, as for tcpdump (e.g. tcp port 80)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("capture", "packets on a pod's host veth, with a pcap filter; -w writes a pcap file; bounded by --count/--duration or Ctrl-C") { pod, write, quiet, output, stateDir, filter };
        bounds.AddTo(command);
        command.SetAction(parsed => DebugCommands.Guard(() =>
        {
            string iface = HostInterface(parsed.GetValue(stateDir)!, parsed.GetValue(pod)!);
            string expression = string.Join(' ', parsed.GetValue(filter) ?? []);
            using var limit = bounds.Start(parsed);
            return Capture(iface, expression, parsed.GetValue(write), limit, parsed.GetValue(quiet), parsed.GetValue(output) == "json");
        }));
        return command;
    }

    private static string HostInterface(string stateDir, string pod)
    {
        if (pod.Split('/') is not [{ Length: > 0 } ns, { Length: > 0 } name])
            throw new CliException($"'{pod}' is not NAMESPACE/POD", ExitCodes.BadInput);
        var interfaces = new LocalAttachments(new AttachmentStore(stateDir)).Read().Values
            .Where(l => l.Namespace == ns && l.Name == name).Select(l => l.HostInterface).Order(StringComparer.Ordinal).ToList();
        if (interfaces.Count == 0) throw new CliException($"pod {pod} has no interface on this node (attachments in {stateDir})", ExitCodes.BadInput);
        if (interfaces.Count > 1) Console.Error.WriteLine($"note: {pod} has {interfaces.Count} interfaces; capturing on {interfaces[0]}");
        return interfaces[0];
    }

    private static int Capture(string iface, string expression, string? file, WatchLimit limit, bool quiet, bool json)
    {
        using var device = PcapDevices.Interface(iface);
        CaptureFileWriterDevice? writer = null;
        var gate = new Lock();
        try
        {
            device.Open(new DeviceConfiguration { ReadTimeout = 100, Immediate = true, Snaplen = 65535 });
            try { device.Filter = expression; }
            catch (PcapException e) { throw new CliException($"filter '{expression}': {e.Message}", ExitCodes.BadInput); }
            if (file != null)
            {
                writer = new CaptureFileWriterDevice(file, FileMode.Create);
                writer.Open(new DeviceConfiguration { LinkLayerType = device.LinkType, Snaplen = 65535 });
            }
            Console.Error.WriteLine($"capturing on {iface}" + (expression.Length > 0 ? $" ({expression})" : "") + (file != null ? $", writing {file}" : ""));
            device.OnPacketArrival += (_, capture) =>
            {
                lock (gate)
                {
                    if (limit.IsDone) return;
                    var raw = capture.GetPacket();
                    writer?.Write(raw);
                    if (!quiet) Console.Out.WriteLine(json ? PacketLine.Of(raw).ToJson() : PacketLine.Of(raw).ToString());
                    limit.Counted();
                }
            };
            device.StartCapture();
            limit.Wait();
            device.StopCapture();
        }
        catch (PcapException e)
        {
            throw new CliException($"cannot capture on {iface}: {e.Message}");
        }
        finally
        {
            lock (gate) writer?.Close();
        }
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{limit.Seen} packet(s)"));
        return ExitCodes.Ok;
    }

    private static string TcpFlags(TcpPacket tcp) =>
        (tcp.Synchronize ? "S" : "") + (tcp.Finished ? "F" : "") + (tcp.Reset ? "R" : "") + (tcp.Push ? "P" : "") + (tcp.Acknowledgment ? "." : "");

    /// <summary>One captured packet as PacketDotNet decodes it.</summary>
    private sealed record PacketLine(DateTime Time, string Source, string Destination, string Protocol, string? Flags, int Length)
    {
        public static PacketLine Of(RawCapture raw)
        {
            var time = raw.Timeval.Date;
            var packet = raw.GetPacket();
            if (packet.Extract<IPPacket>() is not { } ip) return new(time, "", "", raw.LinkLayerType.ToString(), null, raw.PacketLength);
            return packet.Extract<TcpPacket>() is { } tcp ? new(time, Endpoint(ip.SourceAddress, tcp.SourcePort), Endpoint(ip.DestinationAddress, tcp.DestinationPort), "tcp", TcpFlags(tcp), raw.PacketLength)
                : packet.Extract<UdpPacket>() is { } udp ? new(time, Endpoint(ip.SourceAddress, udp.SourcePort), Endpoint(ip.DestinationAddress, udp.DestinationPort), "udp", null, raw.PacketLength)
                : new(time, ip.SourceAddress.ToString(), ip.DestinationAddress.ToString(), ip.Protocol.ToString().ToLowerInvariant(), null, raw.PacketLength);
        }

        private static string Endpoint(System.Net.IPAddress address, int port) => string.Create(CultureInfo.InvariantCulture,
            $"{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())}:{port}");

        /// <summary>"12:00:01.123456 10.1.0.5:40000 > 203.0.113.10:80 tcp [S] len 60".</summary>
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Time.ToLocalTime():HH:mm:ss.ffffff} {Source} > {Destination} {Protocol}{(Flags == null ? "" : $" [{Flags}]")} len {Length}");

        public string ToJson() => new System.Text.Json.Nodes.JsonObject
        {
            ["time"] = Time.ToString("O", CultureInfo.InvariantCulture),
            ["source"] = Source,
            ["destination"] = Destination,
            ["protocol"] = Protocol,
            ["flags"] = Flags,
            ["length"] = Length,
        }.ToJsonString();
    }
}
