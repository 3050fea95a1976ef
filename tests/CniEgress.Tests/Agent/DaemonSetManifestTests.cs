using System.Text;
using System.Text.Json.Nodes;
using CniEgress.CniPlugin.Config;
using CniEgress.PolicyAgent.Cli;
using CniEgress.Tests.Infrastructure;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Agent;

/// <summary>daemonset.yaml read with the client's own models and held against what the code
/// uses: RBAC for exactly the watched resources, arguments the agent accepts, probes on its
/// status endpoints, the plugin's stateDir mounted, a conflist the plugin parses.</summary>
public class DaemonSetManifestTests
{
    private static readonly List<object> Objects = Manifests.LoadAll(File.ReadAllText(Path.Combine(Sandbox.RepoRoot, "daemonset.yaml")));

    private static T Single<T>() => Assert.Single(Objects.OfType<T>());

    [Fact]
    public void Rbac_grants_the_watched_resources_and_nothing_wild()
    {
        var role = Single<V1ClusterRole>();
        foreach (var (group, resource) in new[] { ("", "pods"), ("", "namespaces"), ("networking.k8s.io", "networkpolicies"), ("", "nodes") })
            Assert.Contains(role.Rules, r => r.ApiGroups.Contains(group) && r.Resources.Contains(resource) && r.Verbs.Contains("list") && r.Verbs.Contains("watch"));
        Assert.Contains(role.Rules, r => r.Resources.SequenceEqual(["events"]) && r.Verbs.SequenceEqual(["create"]));
        Assert.DoesNotContain(role.Rules, r => r.Verbs.Contains("*") || r.Resources.Contains("*")
            || (!r.Resources.SequenceEqual(["events"]) && r.Verbs.Any(v => v is "create" or "update" or "delete" or "patch")));
        var binding = Single<V1ClusterRoleBinding>();
        var account = Single<V1ServiceAccount>();
        Assert.Equal(role.Metadata.Name, binding.RoleRef.Name);
        Assert.Contains(binding.Subjects, s => s.Name == account.Metadata.Name && s.NamespaceProperty == account.Metadata.NamespaceProperty);
    }

    [Fact]
    public void The_agent_accepts_its_arguments_and_its_probes_and_mounts_match_them()
    {
        var daemonSet = Single<V1DaemonSet>();
        var pod = daemonSet.Spec.Template.Spec;
        Assert.True(pod.HostNetwork);
        Assert.Equal("system-node-critical", pod.PriorityClassName);
        Assert.Contains(pod.Tolerations, t => t.OperatorProperty == "Exists" && t.Key == null);
        Assert.Equal(Single<V1ServiceAccount>().Metadata.Name, pod.ServiceAccountName);

        var agent = Assert.Single(pod.Containers);
        var args = agent.Args.Select(a => a.Replace("$(NODE_NAME)", "node-1", StringComparison.Ordinal)).ToList();
        var parsed = AgentCommands.Build().Parse(args);
        Assert.Empty(parsed.Errors);
        string stateDir = args[args.IndexOf("--state-dir") + 1];
        string[] status = args[args.IndexOf("--status-address") + 1].Split(':');
        foreach (var (probe, path) in new[] { (agent.LivenessProbe, "/healthz"), (agent.ReadinessProbe, "/readyz") })
        {
            Assert.Equal(path, probe.HttpGet.Path);
            Assert.Equal(status[0], probe.HttpGet.Host);
            Assert.Equal(status[1], probe.HttpGet.Port.Value);
        }
        var stateMount = Assert.Single(agent.VolumeMounts, m => m.MountPath == stateDir);
        Assert.Equal(stateDir, Assert.Single(pod.Volumes, v => v.Name == stateMount.Name).HostPath.Path); // the same directory as on the host
        Assert.Equal(["NET_ADMIN"], agent.SecurityContext.Capabilities.Add);
        Assert.Equal(["ALL"], agent.SecurityContext.Capabilities.Drop);
    }

    [Fact]
    public void The_conflist_template_gives_the_plugin_a_config_it_parses_with_the_agent_required()
    {
        string template = Single<V1ConfigMap>().Data["conflist.template"];
        var conflist = JsonNode.Parse(template.Replace("__POD_CIDR_RANGES__", """[[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:10:244:1::/64"}]]""", StringComparison.Ordinal))!.AsObject();
        var plugin = conflist["plugins"]!.AsArray().Single(p => (string?)p!["type"] == "cni-egress")!.AsObject().DeepClone().AsObject();
        // As libcni hands one plugin of a conflist over: with the list's name and version.
        plugin["name"] = (string?)conflist["name"];
        plugin["cniVersion"] = (string?)conflist["cniVersion"];
        var config = NetworkConfigParser.Parse(Encoding.UTF8.GetBytes(plugin.ToJsonString()));
        Assert.Equal(PolicyAgentMode.Required, config.PolicyAgent);
        var agentArgs = Single<V1DaemonSet>().Spec.Template.Spec.Containers[0].Args;
        Assert.Equal(agentArgs[agentArgs.IndexOf("--state-dir") + 1], config.StateDir); // where the plugin announces pods is where the agent listens
    }
}
