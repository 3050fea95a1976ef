using k8s;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>The Kubernetes API as a source: informers for Namespaces, Pods and NetworkPolicies
/// of all namespaces (selectors span them) feed a <see cref="ClusterCache"/>; one for Nodes feeds
/// the routes to other nodes' pod CIDRs.</summary>
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
    private Informer<V1Node, V1NodeList>? nodes;
    private readonly NodeCache nodeCache = new();

    private readonly string nodeName;

    public KubernetesSource(KubernetesClientConfiguration configuration, string nodeName, Action<string> log)
    {
        this.nodeName = nodeName;
        client = new Kubernetes(configuration);
        this.log = log;
        Description = "Kubernetes API " + configuration.Host;
    }

    /// <summary>--kubeconfig FILE, or the in-cluster service account when null.</summary>
    public static KubernetesClientConfiguration Configuration(string? kubeconfig) =>
        kubeconfig == null ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);

    public string Description { get; }

    public bool Ready => namespaces?.Synced == true && pods?.Synced == true && policies?.Synced == true;

    public string? Unreachable => namespaces?.Failure ?? pods?.Failure ?? policies?.Failure;

    /// <summary>Watch events are whole objects: coalesce only what arrives together (a relist,
    /// one `kubectl apply` of many objects), and never hold a change back more than 50 ms.</summary>
    public Debounce Debounce { get; } = new(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(50));

    public long Errors => (namespaces?.Errors ?? 0) + (pods?.Errors ?? 0) + (policies?.Errors ?? 0) + (nodes?.Errors ?? 0);

    public IReadOnlyDictionary<string, NodeState> Nodes => nodeCache.Current;

    public void Start(Action changed)
    {
        namespaces = new("namespaces", ct => client.CoreV1.ListNamespaceAsync(cancellationToken: ct),
            (version, ct) => WatchStream.OpenAsync(client, "/api/v1/namespaces", version, ct),
            list => cache.ReplaceNamespaces(list.Items), cache.Namespace, changed, log);
        pods = new("pods", ct => client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct),
            (version, ct) => WatchStream.OpenAsync(client, "/api/v1/pods", version, ct),
            list => cache.ReplacePods(list.Items), (deleted, pod) => cache.Pod(deleted, pod), changed, log);
        policies = new("networkpolicies", ct => client.NetworkingV1.ListNetworkPolicyForAllNamespacesAsync(cancellationToken: ct),
            (version, ct) => WatchStream.OpenAsync(client, "/apis/networking.k8s.io/v1/networkpolicies", version, ct),
            list => cache.ReplacePolicies(list.Items), cache.Policy, changed, log);
        running.Add(Task.Run(() => namespaces.RunAsync(stop.Token)));
        running.Add(Task.Run(() => pods.RunAsync(stop.Token)));
        nodes = new("nodes", ct => client.CoreV1.ListNodeAsync(cancellationToken: ct),
            (version, ct) => WatchStream.OpenAsync(client, "/api/v1/nodes", version, ct),
            list => nodeCache.Replace(list.Items), nodeCache.Apply, changed, log);
        running.Add(Task.Run(() => policies.RunAsync(stop.Token)));
        running.Add(Task.Run(() => nodes.RunAsync(stop.Token)));
    }

    public ClusterObjects Read(ICollection<string> problems) => cache.Snapshot();

    public ClusterChanges ReadChanges(ICollection<string> problems) => cache.TakeChanges();

    /// <summary>GETs the pod (bounded by 2 s, so an ADD is not held longer) and files it in the
    /// cache as a watch event would; the watch's own event for it later changes nothing.</summary>
    public Policy.PodState? FetchPod(string ns, string name)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            var pod = client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: timeout.Token).GetAwaiter().GetResult();
            var state = cache.Pod(false, pod);
            log($"pod {ns}/{name}: not seen on the watch yet, fetched for its ADD");
            return state;
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            log($"pod {ns}/{name}: not seen on the watch yet and could not be fetched ({e.GetType().Name}: {e.Message.Split('\n')[0]}); it stays isolated until the watch reports it");
            return null;
        }
    }

    /// <summary>A Warning Event on the policy, so `kubectl describe networkpolicy` shows why part
    /// of it allows nothing.</summary>
    public void Report(Policy.PolicyProblem problem)
    {
        int slash = problem.Policy.IndexOf('/', StringComparison.Ordinal);
        string ns = problem.Policy[..slash], name = problem.Policy[(slash + 1)..];
        var policy = new V1ObjectReference { Kind = "NetworkPolicy", ApiVersion = "networking.k8s.io/v1", Name = name, NamespaceProperty = ns, Uid = cache.PolicyUid(problem.Policy) };
        Post(Warning(policy, ns, "PolicyFieldIgnored", $"{problem.Field}: {problem.Problem} (this part allows nothing; the selected pods stay isolated)"), ns, problem.Policy);
    }

    /// <summary>A Warning Event on the Node (in namespace default, where node events live), so
    /// `kubectl describe node` shows that its pods are unreachable from this node.</summary>
    public void ReportNode(string node, string problem)
    {
        var involved = new V1ObjectReference { Kind = "Node", ApiVersion = "v1", Name = node };
        Post(Warning(involved, "default", "PodCIDRUnreachable", $"from node {nodeName}: {problem}"), "default", "node " + node);
    }

    private Corev1Event Warning(V1ObjectReference involved, string ns, string reason, string message)
    {
        var now = DateTime.UtcNow;
        return new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = involved.Name + ".", NamespaceProperty = ns },
            InvolvedObject = involved,
            Type = "Warning",
            Reason = reason,
            Message = message,
            Source = new V1EventSource { Component = "egress-agent", Host = nodeName },
            ReportingComponent = "egress-agent",
            ReportingInstance = nodeName,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
    }

    /// <summary>Fire and forget: a failure is logged, enforcement does not wait.</summary>
    private void Post(Corev1Event warning, string ns, string what) => _ = Task.Run(async () =>
    {
        try { await client.CoreV1.CreateNamespacedEventAsync(warning, ns).ConfigureAwait(false); }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or TaskCanceledException)
        {
            log($"could not post an Event for {what}: {e.Message}");
        }
    });

    public void Dispose()
    {
        stop.Cancel();
        try { Task.WaitAll([.. running], TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        stop.Dispose();
        client.Dispose();
    }
}
