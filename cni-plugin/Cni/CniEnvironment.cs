namespace CniEgress.CniPlugin.Cni;

/// <summary>The CNI_* variables, validated per verb as SPEC.md "Parameters" requires.</summary>
public sealed record CniEnvironment(
    CniCommand Command,
    string ContainerId,
    string NetnsPath,
    string IfName,
    CniArgs Args,
    IReadOnlyList<string> PluginPaths)
{
    /// <summary>One getenv per variable: copying the whole environment into a table costs ~0.1 ms of every call.</summary>
    public static CniEnvironment FromProcess() => From(Environment.GetEnvironmentVariable);

    public static CniEnvironment From(Func<string, string?> variable)
    {
        string Get(string name) => variable(name) ?? "";

        var command = ParseCommand(Get("CNI_COMMAND"));
        bool needsAttachment = command is CniCommand.Add or CniCommand.Del or CniCommand.Check;
        string containerId = Get("CNI_CONTAINERID");
        string netns = Get("CNI_NETNS");
        string ifName = Get("CNI_IFNAME");
        if (needsAttachment)
        {
            ValidateContainerId(containerId);
            ValidateIfName(ifName);
            // DEL may come without a netns (the runtime already lost it); ADD and CHECK need one.
            if (command != CniCommand.Del && netns.Length == 0)
                throw Invalid("CNI_NETNS is required for " + command.ToString().ToUpperInvariant());
        }
        string[] paths = Get("CNI_PATH").Split(':', StringSplitOptions.RemoveEmptyEntries);
        return new CniEnvironment(command, containerId, netns, ifName, CniArgs.Parse(Get("CNI_ARGS")), paths);
    }

    private static CniCommand ParseCommand(string value) => value switch
    {
        "ADD" => CniCommand.Add,
        "DEL" => CniCommand.Del,
        "CHECK" => CniCommand.Check,
        "STATUS" => CniCommand.Status,
        "GC" => CniCommand.Gc,
        "VERSION" => CniCommand.Version,
        "" => throw Invalid("CNI_COMMAND is not set (expected ADD, DEL, CHECK, STATUS, GC or VERSION)"),
        _ => throw Invalid($"CNI_COMMAND '{value}' is not one of ADD, DEL, CHECK, STATUS, GC, VERSION"),
    };

    /// <summary>SPEC.md: alphanumeric first, then alphanumerics, '_', '.', '-'.</summary>
    public static void ValidateContainerId(string id)
    {
        if (id.Length == 0) throw Invalid("CNI_CONTAINERID is required");
        if (!IsSpecName(id))
            throw Invalid($"CNI_CONTAINERID '{id}' must start with a letter or digit and contain only letters, digits, '_', '.', '-'");
    }

    /// <summary>SPEC.md: at most 15 bytes (IFNAMSIZ-1), not "." or "..", no '/', ':' or whitespace.</summary>
    public static void ValidateIfName(string name)
    {
        if (name.Length == 0) throw Invalid("CNI_IFNAME is required");
        if (name.Length > 15) throw Invalid($"CNI_IFNAME '{name}' is longer than 15 characters");
        if (name is "." or ".." || !OnlyOf(name, c => c is > ' ' and <= '~' and not '/' and not ':'))
            throw Invalid($"CNI_IFNAME '{name}' is not a valid interface name");
    }

    /// <summary>SPEC.md's rule for a container ID and a network name: a letter or digit first, then
    /// letters, digits, '_', '.', '-'.</summary>
    internal static bool IsSpecName(string text) =>
        text.Length > 0 && char.IsAsciiLetterOrDigit(text[0]) && OnlyOf(text, c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>A loop, not LINQ's All over a string: its first use costs ~0.03 ms in this binary, on every call.</summary>
    private static bool OnlyOf(string text, Func<char, bool> allowed)
    {
        foreach (char c in text)
            if (!allowed(c)) return false;
        return true;
    }

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidEnvironment, message);
}
