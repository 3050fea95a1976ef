using CniEgress.Benchmarks;

// plugin [runs] [label part]: ADD/DEL latency of cni-egress (built-in IPAM and host-local) against Debian's
//   ptp + host-local, measured in the same run.
// policy [ingress] [largest]: compile + full apply, and incremental updates, at growing cluster sizes (egress
//   policies; with "ingress", every policy isolates both ways; "largest": only the largest size).
// datapath [cidrs] [linear rules]: connections/s and throughput with no rules, ours, a linear list.
// crossnode: pod to pod on the same node vs another node, without and with policies.
// agent [policies] [pods]: dist/egress-agent's time to its first full sync and its memory on a large cluster.
// events [policies] [pods] [events]: dist/egress-agent's event-to-enforced latency, fed by the fake API server.
// Both run inside scripts/sandbox.sh (a private network namespace):
//   scripts/sandbox.sh dotnet tests/CniEgress.Benchmarks/bin/Release/net10.0/CniEgress.Benchmarks.dll plugin 40
if (args is ["http-server", var port])
    return TinyHttpServer.Run(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
if (Environment.GetEnvironmentVariable("CNI_EGRESS_SANDBOX") != "inner")
{
    Console.Error.WriteLine("run me inside scripts/sandbox.sh: benchmarks create links, namespaces and nftables tables");
    return 2;
}
string which = args.Length > 0 ? args[0] : "plugin";
int Number(int index, int fallback) => args.Length > index ? int.Parse(args[index], System.Globalization.CultureInfo.InvariantCulture) : fallback;
return which switch
{
    "plugin" => PluginLatencyBenchmark.Run(Number(1, 40), args.Length > 2 ? args[2] : null),
    "policy" => PolicyApplyBenchmark.Run(withIngress: args.Contains("ingress"), largestOnly: args.Contains("largest")),
    "datapath" => DatapathBenchmark.Run(Number(1, 100_000), Number(2, 10_000)),
    "crossnode" => CrossNodeBenchmark.Run(),
    "agent" => AgentMemoryBenchmark.Run(Number(1, 5_000), Number(2, 50_000)),
    "events" => AgentEventLatencyBenchmark.Run(Number(1, 1_000), Number(2, 10_000), Number(3, 200)),
    _ => PluginLatencyBenchmark.Run(int.Parse(which, System.Globalization.CultureInfo.InvariantCulture)),
};
