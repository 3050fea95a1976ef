using System.Net;
using CniEgress.CniPlugin.Wiring;
using Xunit;

namespace CniEgress.Tests.Cni;

public class MasqueradeScriptTests
{
    [Fact]
    public void Script_keeps_pod_sets_and_rewrites_cluster_sets_and_rules()
    {
        string script = Masquerade.Script([IPNetwork.Parse("10.244.0.0/16"), IPNetwork.Parse("fd00:10:244::/56")]);
        Assert.Equal("""
            add table inet cni-egress-nat
            add set inet cni-egress-nat masq-sources-v4 { type ipv4_addr; }
            add set inet cni-egress-nat masq-sources-v6 { type ipv6_addr; }
            add set inet cni-egress-nat cluster-v4 { type ipv4_addr; flags interval; }
            add set inet cni-egress-nat cluster-v6 { type ipv6_addr; flags interval; }
            flush set inet cni-egress-nat cluster-v4
            flush set inet cni-egress-nat cluster-v6
            add element inet cni-egress-nat cluster-v4 { 10.244.0.0/16 }
            add element inet cni-egress-nat cluster-v6 { fd00:10:244::/56 }
            add chain inet cni-egress-nat postrouting { type nat hook postrouting priority srcnat; policy accept; }
            flush chain inet cni-egress-nat postrouting
            add rule inet cni-egress-nat postrouting ip saddr @masq-sources-v4 ip daddr != @cluster-v4 masquerade
            add rule inet cni-egress-nat postrouting ip6 saddr @masq-sources-v6 ip6 daddr != @cluster-v6 masquerade

            """, script);
        Assert.DoesNotContain("flush set inet cni-egress-nat masq-sources", script, StringComparison.Ordinal);
    }
}
