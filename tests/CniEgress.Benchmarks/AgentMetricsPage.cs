namespace CniEgress.Benchmarks;

/// <summary>The /metrics page of an agent the benchmark started (on its --status-address).</summary>
internal static class AgentMetricsPage
{
    public static string Read(string statusAddress)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return client.GetStringAsync(new Uri($"http://{statusAddress}/metrics")).GetAwaiter().GetResult();
    }
}
