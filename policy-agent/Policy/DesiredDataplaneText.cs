using System.Globalization;
using System.Text;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>A compiled dataplane for people: each local pod with its sources and class, each class
/// with its policies and what it allows, then the problems. Sorted, so it diffs well.</summary>
public static class DesiredDataplaneText
{
    public static string Describe(DesiredDataplane dataplane)
    {
        var text = new StringBuilder();
        foreach (var group in dataplane.PodSources.GroupBy(s => s.HostInterface))
        {
            string @class = dataplane.ClassOfInterface.TryGetValue(group.Key, out var id) ? "class " + id : "not isolated";
            Line(text, $"pod {group.Key} sources {string.Join(", ", group.Select(s => s.Address))}: {@class}");
        }
        foreach (var egress in dataplane.Classes.Values)
        {
            Line(text, $"class {egress.Id}: {string.Join(", ", egress.Policies)}");
            Line(text, $"  every port: {List(egress.AnyTraffic.Select(r => r.ToString()))}");
            foreach (var byPort in egress.Ports.GroupBy(b => (b.Protocol, b.FirstPort, b.LastPort)).OrderBy(g => g.Key))
            {
                string ports = byPort.Key.FirstPort == byPort.Key.LastPort
                    ? byPort.Key.FirstPort.ToString(CultureInfo.InvariantCulture)
                    : string.Create(CultureInfo.InvariantCulture, $"{byPort.Key.FirstPort}-{byPort.Key.LastPort}");
                Line(text, $"  {Protocols.Name(byPort.Key.Protocol)} {ports}: {List(byPort.Select(b => b.Destination.ToString()))}");
            }
        }
        foreach (var problem in dataplane.Problems) Line(text, $"problem: {problem}");
        return text.ToString();
    }

    private static string List(IEnumerable<string> items) => items.Any() ? string.Join(", ", items) : "(none)";

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
}
