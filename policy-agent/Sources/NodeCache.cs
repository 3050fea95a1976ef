using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The Node objects a watch reports, reduced to what routing needs. Readers get an
/// immutable dictionary that is replaced only when a node's routing facts change (status
/// heartbeats change nothing here), so the main loop can tell by reference.</summary>
public sealed class NodeCache
{
    private readonly Lock gate = new();
    private Dictionary<string, NodeState> nodes = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, NodeState> Current
    {
        get { lock (gate) return nodes; }
    }

    public void Replace(IEnumerable<V1Node> all)
    {
        var next = all.Select(ObjectConversion.Node).ToDictionary(n => n.Name, StringComparer.Ordinal);
        lock (gate)
            if (!NodeState.Same(next, nodes)) nodes = next;
    }

    public void Apply(bool deleted, V1Node node)
    {
        var state = ObjectConversion.Node(node);
        lock (gate)
        {
            bool known = nodes.TryGetValue(state.Name, out var before);
            if (deleted ? !known : known && before!.SameAs(state)) return;
            var next = new Dictionary<string, NodeState>(nodes, StringComparer.Ordinal);
            if (deleted) next.Remove(state.Name);
            else next[state.Name] = state;
            nodes = next;
        }
    }
}
