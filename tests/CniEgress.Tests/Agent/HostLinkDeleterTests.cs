using CniEgress.PolicyAgent.Agent;
using Xunit;

namespace CniEgress.Tests.Agent;

/// <summary>The agent socket is root only, and still the agent deletes nothing but pod interfaces.</summary>
public class HostLinkDeleterTests
{
    [Theory]
    [InlineData("eth0")]
    [InlineData("lo")]
    [InlineData("cni0")]
    public void Links_that_are_not_pod_interfaces_are_refused_before_any_kernel_call(string name)
    {
        var logged = new List<string>();
        string? refusal = new HostLinkDeleter(new AgentMetrics(), logged.Add).Delete(name);
        Assert.Equal($"'{name}' is not a pod's host interface (those start with ceg)", refusal);
        Assert.Empty(logged);
    }
}
