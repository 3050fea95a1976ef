using CniEgress.PolicyAgent.Policy;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Policy;

public class EffectivePolicyTypesTests
{
    private static V1NetworkPolicySpec Spec(IList<string>? types, IList<V1NetworkPolicyEgressRule>? egress) =>
        new() { PodSelector = new V1LabelSelector(), PolicyTypes = types, Egress = egress };

    [Fact]
    public void Unset_types_isolate_egress_only_when_there_is_an_egress_rule()
    {
        Assert.False(EffectivePolicyTypes.IsolatesEgress(Spec(null, null)));
        Assert.False(EffectivePolicyTypes.IsolatesEgress(Spec(null, [])));
        Assert.True(EffectivePolicyTypes.IsolatesEgress(Spec(null, [new V1NetworkPolicyEgressRule()])));
        Assert.True(EffectivePolicyTypes.IsolatesIngress(Spec(null, [new V1NetworkPolicyEgressRule()])));
    }

    [Fact]
    public void Explicit_types_win_even_with_no_rules()
    {
        Assert.True(EffectivePolicyTypes.IsolatesEgress(Spec(["Egress"], null)));
        Assert.False(EffectivePolicyTypes.IsolatesIngress(Spec(["Egress"], null)));
        Assert.False(EffectivePolicyTypes.IsolatesEgress(Spec(["Ingress"], [new V1NetworkPolicyEgressRule()])));
    }
}
