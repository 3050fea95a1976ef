using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Plugin;

/// <summary>The pod MTU when the config gives none: the default route's link's, else 1500.</summary>
public class MtuChoiceTests
{
    [KernelFact]
    public void On_a_node_without_a_default_route_add_takes_1500_from_one_lookup_per_family_and_lists_no_routes()
    {
        // The sandbox node has no default route (tests never add one outside their own namespaces).
        // The kernel's "no route" is the answer: a dump of the main table would cost every ADD
        // a walk over every pod's host route.
        Assert.DoesNotContain("default", HostLinks.Routes("-4"), StringComparison.Ordinal);
        Assert.DoesNotContain("default", HostLinks.Routes("-6"), StringComparison.Ordinal);
        using var add = new TracedAdd(new TestNetwork(ipv4: true, ipv6: true), "sendto");
        Assert.True(add.Response.ExitCode == 0, add.Response.ToString());
        Assert.Equal(1500, (int)add.Response.Json["interfaces"]![1]!["mtu"]!);
        var routeRequests = add.Trace.Split('\n').Where(l => l.Contains("nlmsg_type=RTM_GETROUTE", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, routeRequests.Count(l => l.Contains("NLM_F_REQUEST|NLM_F_ACK", StringComparison.Ordinal))); // the lookups: IPv4, IPv6
        Assert.DoesNotContain(routeRequests, l => l.Contains("NLM_F_DUMP", StringComparison.Ordinal));
    }
}
