namespace CniEgress.Tests.Infrastructure;

/// <summary>Reads the sandbox node's own links and routes with `ip -j`.</summary>
public static class HostLinks
{
    public static IReadOnlyList<string> OurVeths() =>
        System.Text.Json.Nodes.JsonNode.Parse(Shell.Ok("ip", "-j", "link", "show", "type", "veth"))!.AsArray()
            .Select(l => (string)l!["ifname"]!).Where(n => n.StartsWith("ceg", StringComparison.Ordinal)).Order().ToList();

    public static bool Exists(string name) => Shell.Run("ip", "link", "show", "dev", name).ExitCode == 0;

    public static string Routes(string family = "-4") => Shell.Ok("ip", family, "route", "show");
}
