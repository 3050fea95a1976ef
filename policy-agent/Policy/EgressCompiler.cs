namespace CniEgress.PolicyAgent.Policy;

/// <summary>The pure heart of the agent: a cluster snapshot in, the desired egress dataplane out.
/// No I/O, clock or client. Pods selected by the same set of egress policies share one
/// <see cref="EgressClass"/>, so the kernel holds each allowed destination once per class, not
/// once per pod, and a packet's verdict is a constant number of lookups. A long-lived caller
/// keeps an <see cref="EgressCompilation"/> instead and tells it each change.</summary>
public static class EgressCompiler
{
    public static DesiredDataplane Compile(ClusterSnapshot snapshot)
    {
        var compilation = new EgressCompilation();
        compilation.Load(snapshot);
        return compilation.Build();
    }
}
