using System.Globalization;
using CniEgress.Processes;

namespace CniEgress.Benchmarks;

/// <summary>Peak resident set of one plugin invocation, measured by GNU time (%M, in KiB).</summary>
public static class ChildPeakRss
{
    public static double Megabytes(string binary, byte[] stdin, IReadOnlyDictionary<string, string> env)
    {
        var outcome = ProcessRunner.Run("/usr/bin/time", ["-f", "maxrss=%M", binary], stdin, TimeSpan.FromSeconds(30), env);
        string line = outcome.Stderr.Split('\n').Last(l => l.StartsWith("maxrss=", StringComparison.Ordinal));
        return double.Parse(line["maxrss=".Length..], CultureInfo.InvariantCulture) / 1024.0;
    }
}
