namespace CniEgress.PolicyAgent.Policy;

/// <summary>A part of a NetworkPolicy that cannot be compiled, named by its field path
/// ("spec.egress[0].to[1].ipBlock.cidr"). The compiler turns it into "allows nothing" for that
/// part (the selected pods stay isolated) and a report for the policy's owner.</summary>
public sealed class PolicyFieldException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}
