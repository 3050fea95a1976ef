using System.Globalization;
using System.Text;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>A Prometheus histogram of durations in seconds, safe to observe from one thread while
/// another renders it.</summary>
public sealed class LatencyHistogram(string name, string help)
{
    private static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    private readonly long[] counts = new long[Buckets.Length + 1];
    private long count;
    private long sumMicroseconds;

    public void Observe(TimeSpan duration)
    {
        int bucket = Array.FindIndex(Buckets, b => duration.TotalSeconds <= b);
        Interlocked.Increment(ref counts[bucket < 0 ? Buckets.Length : bucket]);
        Interlocked.Increment(ref count);
        Interlocked.Add(ref sumMicroseconds, (long)(duration.TotalMilliseconds * 1000));
    }

    public void Render(StringBuilder text)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        long cumulative = 0;
        for (int i = 0; i <= Buckets.Length; i++)
        {
            cumulative += Interlocked.Read(ref counts[i]);
            string bound = i < Buckets.Length ? Buckets[i].ToString(CultureInfo.InvariantCulture) : "+Inf";
            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bound}\"}} {cumulative}\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"{name}_sum {Interlocked.Read(ref sumMicroseconds) / 1e6}\n");
        text.Append(CultureInfo.InvariantCulture, $"{name}_count {Interlocked.Read(ref count)}\n");
    }
}
