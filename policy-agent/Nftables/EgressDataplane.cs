using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Puts a desired state into the kernel through an executor: a full sync deletes the
/// class objects the desired state no longer has, in the same transaction that rewrites the rest.</summary>
public sealed class EgressDataplane(INftExecutor executor, EgressRuleset.Options? options = null)
{
    public void FullSync(DesiredDataplane desired) =>
        executor.Apply(EgressRuleset.FullSync(desired, executor.ListObjects(), options));
}
