using System.Globalization;
using System.Text;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>A compiled dataplane for people: each local pod with its sources and classes, each
/// class with its policies and what it allows (egress) or accepts (ingress), then the problems.
/// Sorted, so it diffs well.</summary>
public static class DesiredDataplaneText
{
    public static string Describe(DesiredDataplane dataplane)
    {
        var text = new StringBuilder();
        foreach (var group in dataplane.PodSources.GroupBy(s => s.HostInterface))
        {
            string egress = dataplane.ClassOfInterface.TryGetValue(group.Key, out var id) ? "class " + id : "not isolated";
            string ingress = dataplane.Ingress.ClassOfInterface.TryGetValue(group.Key, out var inId) ? "class " + inId : "not isolated";
            Line(text, $"pod {group.Key} sources {string.Join(", ", group.Select(s => s.Address))}: egress {egress}; ingress {ingress}");
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
        foreach (var accepted in dataplane.Ingress.Classes.Values)
        {
            Line(text, $"ingress class {accepted.Id}: {string.Join(", ", accepted.Policies)}");
            // "tcp 3306: 10.0.0.5" reads "tcp 3306 from 10.0.0.5" on this side.
            var lines = AllowedTraffic.Of(accepted).Lines().Select(l => l.Replace(": ", " from ", StringComparison.Ordinal)).ToList();
            foreach (string line in lines.Count == 0 ? ["accepts nothing"] : lines) Line(text, "  " + line);
        }
        foreach (var problem in dataplane.Problems) Line(text, $"problem: {problem}");
        return text.ToString();
    }

    private static string List(IEnumerable<string> items) => items.Any() ? string.Join(", ", items) : "(none)";

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
}
