using CniEgress.Benchmarks;

// Prints ADD/DEL latency of cni-egress (built-in IPAM and host-local) against Debian's
// ptp + host-local, measured in the same run inside a private network namespace.
// Run: scripts/sandbox.sh dotnet run -c Release --project tests/CniEgress.Benchmarks -- [runs]
if (Environment.GetEnvironmentVariable("CNI_EGRESS_SANDBOX") != "inner")
{
    Console.Error.WriteLine("run me inside scripts/sandbox.sh: benchmarks create links and namespaces");
    return 2;
}
int runs = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 40;
return PluginLatencyBenchmark.Run(runs);
