namespace CniEgress.CniPlugin.Cni;

/// <summary>CNI_ARGS: "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IgnoreUnknown=1". We know the K8S_*
/// keys; other keys are accepted only with IgnoreUnknown, as the reference plugins do.</summary>
public sealed record CniArgs(IReadOnlyDictionary<string, string> Values)
{
    private static readonly HashSet<string> Known = ["IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"];

    public string? PodNamespace => Get("K8S_POD_NAMESPACE");
    public string? PodName => Get("K8S_POD_NAME");
    public string? PodUid => Get("K8S_POD_UID");

    public string? Get(string key) => Values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    public static CniArgs Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_ARGS entry '{pair}' is not KEY=VALUE");
            values[pair[..eq]] = pair[(eq + 1)..];
        }
        bool ignoreUnknown = values.TryGetValue("IgnoreUnknown", out var flag) && flag is "1" or "true" or "True";
        if (!ignoreUnknown)
        {
            string? unknown = values.Keys.FirstOrDefault(k => !Known.Contains(k));
            if (unknown != null)
                throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_ARGS key '{unknown}' is unknown (set IgnoreUnknown=1 to pass it)");
        }
        return new CniArgs(values);
    }
}
