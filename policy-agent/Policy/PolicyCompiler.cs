namespace CniEgress.PolicyAgent.Policy;

/// <summary>The pure heart of the agent: a cluster snapshot in, the desired dataplane (both
/// directions) out. No I/O, clock or client. Pods selected by the same set of policies share one
/// <see cref="PolicyClass"/> per direction, so the kernel holds each allowed peer once per class,
/// not once per pod, and a packet's verdict is a constant number of lookups. A long-lived caller
/// keeps a <see cref="PolicyCompilation"/> instead and tells it each change.</summary>
public static class PolicyCompiler
{
    public static DesiredDataplane Compile(ClusterSnapshot snapshot)
    {
        var compilation = new PolicyCompilation();
        compilation.Load(snapshot);
        return compilation.Build();
    }
}
