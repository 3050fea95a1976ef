using k8s;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The Kubernetes API as a source: informers for Namespaces, Pods and NetworkPolicies
/// of all namespaces (selectors span them) feed a <see cref="ClusterCache"/>.</summary>
public sealed class KubernetesSource : IClusterSource
{
    private readonly Kubernetes client;
    private readonly ClusterCache cache = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Action<string> log;
    private readonly List<Task> running = [];
    private Informer<V1Namespace, V1NamespaceList>? namespaces;
    private Informer<V1Pod, V1PodList>? pods;
    private Informer<V1NetworkPolicy, V1NetworkPolicyList>? policies;

    public KubernetesSource(KubernetesClientConfiguration configuration, Action<string> log)
    {
        client = new Kubernetes(configuration);
        this.log = log;
        Description = "Kubernetes API " + configuration.Host;
    }

    /// <summary>--kubeconfig FILE, or the in-cluster service account when null.</summary>
    public static KubernetesClientConfiguration Configuration(string? kubeconfig) =>
        kubeconfig == null ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);

    public string Description { get; }

    public bool Ready => namespaces?.Synced == true && pods?.Synced == true && policies?.Synced == true;

    public void Start(Action changed)
    {
        namespaces = new("namespaces", ct => client.CoreV1.ListNamespaceAsync(cancellationToken: ct),
            (version, onError, ct) => client.CoreV1.WatchListNamespaceAsync(allowWatchBookmarks: true, resourceVersion: version, onError: onError, cancellationToken: ct),
            list => cache.ReplaceNamespaces(list.Items), cache.Namespace, changed, log);
        pods = new("pods", ct => client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct),
            (version, onError, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: version, onError: onError, cancellationToken: ct),
            list => cache.ReplacePods(list.Items), cache.Pod, changed, log);
        policies = new("networkpolicies", ct => client.NetworkingV1.ListNetworkPolicyForAllNamespacesAsync(cancellationToken: ct),
            (version, onError, ct) => client.NetworkingV1.WatchListNetworkPolicyForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: version, onError: onError, cancellationToken: ct),
            list => cache.ReplacePolicies(list.Items), cache.Policy, changed, log);
        running.Add(Task.Run(() => namespaces.RunAsync(stop.Token)));
        running.Add(Task.Run(() => pods.RunAsync(stop.Token)));
        running.Add(Task.Run(() => policies.RunAsync(stop.Token)));
    }

    public ClusterObjects Read(ICollection<string> problems) => cache.Snapshot();

    public void Dispose()
    {
        stop.Cancel();
        try { Task.WaitAll([.. running], TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        stop.Dispose();
        client.Dispose();
    }
}
