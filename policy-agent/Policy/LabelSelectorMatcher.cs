using k8s.Models;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>Kubernetes label-selector semantics (apimachinery labels.Selector): every
/// matchLabels pair and every matchExpressions requirement must hold; an empty selector matches
/// everything. NotIn and DoesNotExist hold for an object that lacks the key.</summary>
public sealed class LabelSelectorMatcher
{
    private readonly IReadOnlyList<Func<IReadOnlyDictionary<string, string>, bool>> requirements;

    private LabelSelectorMatcher(IReadOnlyList<Func<IReadOnlyDictionary<string, string>, bool>> requirements, IReadOnlyList<KeyValuePair<string, string>> requiredLabels)
    {
        this.requirements = requirements;
        RequiredLabels = requiredLabels;
    }

    public static LabelSelectorMatcher Everything { get; } = new([], []);

    /// <summary>The matchLabels pairs: every match carries them, so an index by label can
    /// narrow the candidates before <see cref="Matches"/> checks the rest.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RequiredLabels { get; }

    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        labels ??= EmptyLabels;
        foreach (var requirement in requirements)
            if (!requirement(labels)) return false;
        return true;
    }

    /// <summary>Compiles a selector, or explains (naming the field under <paramref name="path"/>)
    /// why it is invalid, as the API server's validation would.</summary>
    public static LabelSelectorMatcher Compile(V1LabelSelector selector, string path)
    {
        var compiled = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
            compiled.Add(labels => labels.TryGetValue(key, out var actual) && actual == value);
        int index = 0;
        foreach (var expression in selector.MatchExpressions ?? [])
        {
            string at = $"{path}.matchExpressions[{index++}]";
            if (string.IsNullOrEmpty(expression.Key)) throw new PolicyFieldException(at + ".key", "must not be empty");
            var values = (expression.Values ?? []).ToHashSet(StringComparer.Ordinal);
            string key = expression.Key;
            compiled.Add(expression.OperatorProperty switch
            {
                "In" when values.Count > 0 => labels => labels.TryGetValue(key, out var v) && values.Contains(v),
                "NotIn" when values.Count > 0 => labels => !labels.TryGetValue(key, out var v) || !values.Contains(v),
                "Exists" when values.Count == 0 => labels => labels.ContainsKey(key),
                "DoesNotExist" when values.Count == 0 => labels => !labels.ContainsKey(key),
                "In" or "NotIn" => throw new PolicyFieldException(at + ".values", $"must be non-empty for operator {expression.OperatorProperty}"),
                "Exists" or "DoesNotExist" => throw new PolicyFieldException(at + ".values", $"must be empty for operator {expression.OperatorProperty}"),
                _ => throw new PolicyFieldException(at + ".operator", $"unknown operator '{expression.OperatorProperty}' (In, NotIn, Exists, DoesNotExist)"),
            });
        }
        return new LabelSelectorMatcher(compiled, (selector.MatchLabels ?? new Dictionary<string, string>()).ToList());
    }

    private static readonly Dictionary<string, string> EmptyLabels = [];
}
