using k8s.Models;

namespace CniEgress.PolicyAgent.Policy;

/// <summary>policyTypes as the API server defaults them: when unset, Ingress always, and Egress
/// only when the policy has at least one egress rule (so `egress: []` alone does not isolate).</summary>
public static class EffectivePolicyTypes
{
    public static bool IsolatesEgress(V1NetworkPolicySpec spec) =>
        spec.PolicyTypes is { Count: > 0 } types
            ? types.Contains("Egress")
            : spec.Egress is { Count: > 0 };

    public static bool IsolatesIngress(V1NetworkPolicySpec spec) =>
        spec.PolicyTypes is not { Count: > 0 } types || types.Contains("Ingress");
}
