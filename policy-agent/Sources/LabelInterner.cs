namespace CniEgress.PolicyAgent.Sources;

/// <summary>Pods of one workload carry the same labels, so they share one read-only dictionary
/// (at 50,000 pods, one dictionary each was 10 MB). Held weakly: label sets that no object uses
/// any more (the hash label of an old rollout) are collected and pruned from the table.</summary>
public sealed class LabelInterner
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();
    private readonly Lock gate = new();
    private readonly Dictionary<string, WeakReference<IReadOnlyDictionary<string, string>>> sets = new(StringComparer.Ordinal);
    private int pruneAt = 1024;

    /// <summary>The sources convert objects on several threads (one informer each): one table for all.</summary>
    public static LabelInterner Shared { get; } = new();

    public IReadOnlyDictionary<string, string> Intern(IEnumerable<KeyValuePair<string, string>>? labels)
    {
        if (labels == null) return None;
        var sorted = labels.OrderBy(l => l.Key, StringComparer.Ordinal).ToList();
        if (sorted.Count == 0) return None;
        string key = string.Join('\0', sorted.Select(l => l.Key + "\0" + l.Value));
        lock (gate)
        {
            if (sets.TryGetValue(key, out var weak) && weak.TryGetTarget(out var known)) return known;
            IReadOnlyDictionary<string, string> set = sorted.ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
            sets[key] = new WeakReference<IReadOnlyDictionary<string, string>>(set);
            if (sets.Count >= pruneAt) Prune();
            return set;
        }
    }

    private void Prune()
    {
        foreach (string dead in sets.Where(s => !s.Value.TryGetTarget(out _)).Select(s => s.Key).ToList()) sets.Remove(dead);
        pruneAt = Math.Max(1024, sets.Count * 2);
    }
}
