using System.Text;
using System.Text.Json;
using CniEgress.Processes;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Runs `nft -f -`: one transaction, all or nothing. Fine for full syncs; incremental
/// updates go over nfnetlink instead, because nft 1.0.6 re-reads the whole ruleset each time.</summary>
/// <param name="command">The nft command line; tests prefix it with `ip netns exec NODE`.</param>
public sealed class NftCommand(params string[] command) : INftExecutor
{
    private readonly string executable = command.Length > 0 ? command[0] : "nft";
    private readonly string[] prefix = command.Length > 0 ? command[1..] : [];

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public void Apply(string transaction)
    {
        var outcome = Run(["-f", "-"], Encoding.UTF8.GetBytes(transaction));
        if (outcome.ExitCode != 0)
            throw new NftException($"nft refused the transaction (exit {outcome.ExitCode}): {FirstLines(outcome.Stderr, 6)}");
    }

    public IReadOnlyList<NftRuleset.TableObject> ListObjects()
    {
        var outcome = Run(["-t", "-j", "list", "table", "inet", NftRuleset.Table], []);
        if (outcome.ExitCode != 0) return []; // no table yet
        using var document = JsonDocument.Parse(outcome.Stdout);
        var objects = new List<NftRuleset.TableObject>();
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
            foreach (string kind in new[] { "chain", "set", "map" })
                if (item.TryGetProperty(kind, out var o)) objects.Add(new(kind, o.GetProperty("name").GetString()!));
        return objects;
    }

    /// <summary>`nft -j list table inet cni-egress`; null when the table does not exist.</summary>
    public string? ListTableJson()
    {
        var outcome = Run(["-j", "list", "table", "inet", NftRuleset.Table], []);
        return outcome.ExitCode == 0 ? outcome.Stdout : null;
    }

    /// <summary>Our table as the kernel lists it now; null when there is none or its listing cannot be read.</summary>
    public KernelTable? ReadTable()
    {
        try { return ListTableJson() is { } json ? KernelTable.Parse(json) : null; }
        catch (JsonException) { return null; }
    }

    /// <summary>The packet counters of a set's elements (a set with the counter flag), by element.</summary>
    public IReadOnlyDictionary<string, long> ReadCounters(string set)
    {
        var outcome = Run(["-j", "list", "set", "inet", NftRuleset.Table, set], []);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        if (outcome.ExitCode != 0) return counters;
        using var document = JsonDocument.Parse(outcome.Stdout);
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!item.TryGetProperty("set", out var found) || !found.TryGetProperty("elem", out var elements)) continue;
            foreach (var element in elements.EnumerateArray())
                if (element.TryGetProperty("elem", out var inner) && inner.GetProperty("val").GetString() is { } key
                    && inner.TryGetProperty("counter", out var counter))
                    counters[key] = counter.GetProperty("packets").GetInt64();
        }
        return counters;
    }

    /// <summary>nft with these arguments; a missing or hung nft is an <see cref="NftException"/>
    /// that says so, like any refusal, so the agent reports it in one line instead of crashing.</summary>
    private ProcessRunner.Outcome Run(string[] arguments, ReadOnlySpan<byte> stdin)
    {
        try
        {
            return ProcessRunner.Run(executable, [.. prefix, .. arguments], stdin, Timeout);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new NftException($"could not run {executable} (package nftables; is it installed and on PATH?): {e.Message}");
        }
        catch (TimeoutException e)
        {
            throw new NftException(e.Message);
        }
    }

    private static string FirstLines(string text, int count) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(count).Select(l => l.Length > 200 ? l[..200] + "..." : l));
}
