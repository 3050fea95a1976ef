using System.Diagnostics;
using CniEgress.Netlink.Nftables;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Sources;
using CniEgress.State;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>How `egress-agent run` was asked to work.</summary>
public sealed record AgentSettings(string NodeName, string StateDir, NftRuleset.Options Ruleset)
{
    /// <summary>The offline source; when null the Kubernetes API is (<see cref="Kubeconfig"/>, or in-cluster).</summary>
    public string? ManifestFolder { get; init; }

    public string? Kubeconfig { get; init; }

    /// <summary>Where CNI ADDs announce their pods (the plugin's default: stateDir/agent.sock).</summary>
    public string SocketPath => Path.Combine(StateDir, "agent.sock");

    /// <summary>Longest wait between readings when no file event arrives (events usually come first).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the kernel is checked for someone having removed or flushed our table.</summary>
    public TimeSpan VerifyInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>host:port of /healthz, /readyz and /metrics; null for none.</summary>
    public string? StatusAddress { get; init; } = "127.0.0.1:9765";
}

/// <summary>The agent's main loop: read the sources, reconcile, wait for a change (file events,
/// with a bounded poll as a fallback), and now and then check that the table is still there.
/// Stopping leaves the rules in the kernel, so pods stay enforced while the agent restarts.</summary>
public sealed class AgentLoop(AgentSettings settings, Action<string> log)
{
    private readonly AgentMetrics metrics = new();
    private AuditView auditView = AuditView.Empty;
    private Nftables.SlotPools? auditSlots;

    public int Run(CancellationToken stop)
    {
        var store = new AttachmentStore(settings.StateDir);
        Directory.CreateDirectory(store.Directory);
        using var nftables = NftablesNetlinkClient.Open();
        using var conntrack = CniEgress.Netlink.Conntrack.ConntrackClient.Open();
        using var changed = new ChangeSignal();
        using IClusterSource source = settings.ManifestFolder != null
            ? new ManifestSource(settings.ManifestFolder)
            : new KubernetesSource(KubernetesSource.Configuration(settings.Kubeconfig), settings.NodeName, log);
        var nft = new NftCommand("nft");
        var reconciler = new Reconciler(new NftDataplane(nft, new NetlinkElementWriter(nftables), settings.Ruleset), log, source.Report);
        source.Start(changed.Raise);
        var attachments = new LocalAttachments(store);
        using var attachmentWatcher = attachments.Watch(changed.Raise);
        using var status = string.IsNullOrEmpty(settings.StatusAddress) ? null : new StatusServer(settings.StatusAddress, metrics,
            () => new Dictionary<string, IReadOnlyDictionary<string, long>> { ["egress"] = nft.ReadCounters("pod-denials"), ["ingress"] = nft.ReadCounters("pod-ingress-denials") });
        log($"egress-agent on node {settings.NodeName}: {source.Description}, CNI state {settings.StateDir}"
            + (status == null ? "" : $", status on http://{settings.StatusAddress}/"));

        using var audit = new AuditLog(settings.Ruleset.LogGroup, log);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        var sinceVerify = Stopwatch.StartNew();
        var drift = new DriftCheck(nftables);
        var routes = new NodeRoutes(settings.NodeName, CniEgress.Netlink.Route.RouteNetlinkClient.Open, log, source.ReportNode);
        AgentSocket? listener = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                metrics.Heartbeat();
                metrics.Source(source.Unreachable, source.Errors);
                if (!source.Ready)
                {
                    // Nothing is written before the first complete view: an incomplete one would
                    // enforce too little (a restart keeps the kernel's last state meanwhile).
                    if (!WaitForChange(changed, null, source.Debounce, stop)) break;
                    continue;
                }
                if (ReadAndReconcile(source, attachments, reconciler, reported, drift, sinceVerify, changed.TakePending()))
                {
                    StopDeniedFlows(reconciler, conntrack);
                    audit.Publish(ViewFor(reconciler));
                }
                try { routes.Sync(source.Nodes); }
                catch (CniEgress.Netlink.NetlinkException e) { log("routes: " + e.Message); }
                metrics.UnreachableNodes(routes.Unreachable.Count);
                if (listener == null) ReleaseFirstReadingGarbage();
                metrics.MarkReady();
                // ADDs are served only once the first reading is in the kernel: earlier, they are
                // refused and the plugin fails with "try again later".
                if (listener == null)
                {
                    listener = new AgentSocket(settings.SocketPath, changed.Raise, changed.Wake, new HostLinkDeleter(metrics, log));
                    log($"serving CNI ADDs and debug queries on {settings.SocketPath}");
                }
                if (!WaitForChange(changed, listener, source.Debounce, stop)) break;
                if (ServeAnnouncements(listener, attachments, source, reconciler)) audit.Publish(ViewFor(reconciler));
                ServeQueries(listener, reconciler, source, nft, changed);
            }
        }
        finally
        {
            listener?.Dispose();
        }
        log("stopping; the kernel keeps enforcing the last state");
        return 0;
    }

    /// <summary>True when something changed in the kernel.</summary>
    /// <param name="pending">How long the oldest change this reading takes in has waited.</param>
    private bool ReadAndReconcile(IClusterSource source, LocalAttachments attachments, Reconciler reconciler, HashSet<string> reported, DriftCheck drift, Stopwatch sinceVerify, TimeSpan? pending)
    {
        var clock = Stopwatch.StartNew();
        int fullSyncsBefore = reconciler.FullSyncs;
        var problems = new List<string>();
        int changes = reconciler.HasCluster
            ? reconciler.ApplyChanges(source.ReadChanges(problems), attachments.Read())
            : reconciler.Apply(source.Read(problems), attachments.Read());
        foreach (string problem in problems.Where(reported.Add)) log("manifest skipped: " + problem);
        reported.IntersectWith(problems);
        metrics.ManifestProblems(problems.Count);
        if (changes > 0)
        {
            Measure(reconciler, clock.Elapsed, reconciler.FullSyncs > fullSyncsBefore, reconciler.PolicyCount);
            if (pending is { } waited) metrics.Enforced(waited + clock.Elapsed);
            log($"applied {changes} changed object(s) in {clock.Elapsed.TotalMilliseconds:0.0} ms ({reconciler.FullSyncs} full syncs, {reconciler.IncrementalUpdates} incremental updates so far)");
        }
        if (sinceVerify.Elapsed >= settings.VerifyInterval)
        {
            sinceVerify.Restart();
            drift.AfterSync(reconciler.FullSyncs); // a full sync since (an ADD that grew the pool) wrote more rules
            if (drift.Check() is { } wrong)
            {
                log($"table inet {NftRuleset.Table} {wrong}: full sync");
                reconciler.Resync();
                metrics.DriftRepaired();
                drift.AfterSync(reconciler.FullSyncs);
                return true;
            }
        }
        drift.AfterSync(reconciler.FullSyncs);
        return changes > 0;
    }

    /// <summary>After a change, flows a tightened policy denies stop at their next packet (new
    /// local pods have no flows yet, so ADDs skip this).</summary>
    private void StopDeniedFlows(Reconciler reconciler, CniEgress.Netlink.Conntrack.ConntrackClient conntrack)
    {
        if (reconciler.Desired is not { } desired) return;
        try
        {
            int stopped = ConntrackSweeper.Sweep(desired, conntrack.List(),
                flow => conntrack.SetMark(flow, NftRuleset.DeniedFlowMark, NftRuleset.DeniedFlowMark));
            metrics.FlowsStopped(stopped);
            if (stopped > 0) log($"stopped {stopped} established connection(s) that the policies now deny");
        }
        catch (CniEgress.Netlink.NetlinkException e)
        {
            log("conntrack sweep failed (denied established connections may live on until they end): " + e.Message);
        }
    }

    /// <summary>Waits for a change (or the poll interval). A burst of changes becomes one reading:
    /// it waits until the sources have been quiet for the source's <see cref="Debounce.Quiet"/>
    /// (at most <see cref="Debounce.AtMost"/>), so a file being written is read whole; an
    /// announcement cuts the wait short. False when stopping.</summary>
    private bool WaitForChange(ChangeSignal changed, AgentSocket? listener, Debounce debounce, CancellationToken stop)
    {
        try
        {
            if (changed.Wait(settings.PollInterval, stop))
            {
                var burst = Stopwatch.StartNew();
                while (listener?.HasPending != true && burst.Elapsed < debounce.AtMost && changed.Wait(debounce.Quiet, stop)) { }
                changed.Drain();
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Announced attachments go in at once: the attachment folder is read again (only
    /// new or changed records are parsed), and each ADD hears back once its pod's state is in
    /// the kernel.</summary>
    private bool ServeAnnouncements(AgentSocket listener, LocalAttachments attachments, IClusterSource source, Reconciler reconciler)
    {
        var announced = listener.Take();
        if (announced.Count == 0) return false;
        // The plugin wrote each record before announcing it; the folder's event may still be on its way.
        foreach (var announcement in announced) attachments.Touched(announcement.ContainerId, announcement.IfName);
        var local = attachments.Read();
        // A pod the watch has not reported yet would be isolated with no policy at all: ask for it.
        var fetched = announced.Select(a => attachments.Find(a.ContainerId, a.IfName)).OfType<Policy.LocalPod>()
            .Where(pod => !reconciler.KnowsPod(pod.Namespace, pod.Name))
            .Select(pod => (Key: ClusterObjects.Key(pod.Namespace, pod.Name), State: source.FetchPod(pod.Namespace, pod.Name)))
            .Where(f => f.State != null).Select(f => new KeyValuePair<string, Policy.PodState?>(f.Key, f.State)).ToList();
        string? failure = null;
        try
        {
            var clock = Stopwatch.StartNew();
            int fullSyncsBefore = reconciler.FullSyncs;
            if (fetched.Count > 0) reconciler.ApplyChanges(new ClusterChanges([], fetched, []), local);
            else reconciler.ApplyLocal(local);
            Measure(reconciler, clock.Elapsed, reconciler.FullSyncs > fullSyncsBefore, null);
            metrics.Enforced(announced.Max(a => a.Waited));
            metrics.Announced(announced.Count);
        }
        catch (Exception e) when (e is NftException or CniEgress.Netlink.NetlinkException)
        {
            failure = "the kernel refused the update: " + e.Message;
            log(failure);
        }
        foreach (var announcement in announced)
            announcement.Reply(failure ?? (attachments.Find(announcement.ContainerId, announcement.IfName) != null ? null : $"no attachment record for {announcement.ContainerId}/{announcement.IfName}"));
        return true;
    }

    /// <summary>The debug CLI's questions, answered from the state just applied: nothing changes
    /// while they are computed, and they wait behind ADDs, never the other way round.</summary>
    private void ServeQueries(AgentSocket listener, Reconciler reconciler, IClusterSource source, NftCommand nft, ChangeSignal changed)
    {
        var queries = listener.TakeQueries();
        if (queries.Count == 0 || reconciler.Desired is not { } desired) return;
        var agent = metrics.Status();
        agent["node"] = settings.NodeName;
        agent["logGroup"] = settings.Ruleset.LogGroup;
        agent["pendingChanges"] = changed.Pending;
        var view = new Diagnostics.NodeView(reconciler.Compilation, desired, $"agent on node {settings.NodeName} ({source.Description})", agent);
        foreach (var query in queries)
        {
            var answer = Diagnostics.NodeQueries.Answer(query.Request, view);
            if (answer.AddKernel == null) query.Reply(answer.Document);
            else ThreadPool.QueueUserWorkItem(_ => query.Reply(answer.Complete(nft.ReadTable)));
        }
    }

    /// <summary>The first reading parses every object of the cluster; what it leaves behind is
    /// handed back to the system at once rather than held as free heap (about 10 MB of RSS at
    /// 50,000 pods). Once, before the first ADD is served.</summary>
    private static void ReleaseFirstReadingGarbage() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>The names the audit log needs. The local pods are the reconciler's own map (never
    /// changed in place: each reading is a new one); the chains' policies are listed again only
    /// when the slots are no longer the same object.</summary>
    private AuditView ViewFor(Reconciler reconciler)
    {
        var slots = reconciler.Slots;
        if (!ReferenceEquals(slots, auditSlots))
            auditView = auditView with { PoliciesOfChain = slots?.Placed.ToDictionary(p => p.Chain, p => p.Class.Policies, StringComparer.Ordinal) ?? new Dictionary<string, IReadOnlyList<string>>() };
        auditSlots = slots;
        return auditView = auditView with { PodOfInterface = reconciler.Local };
    }

    private void Measure(Reconciler reconciler, TimeSpan latency, bool full, int? policies)
    {
        metrics.Applied(latency, full);
        if (reconciler.Desired is { } desired)
            metrics.State(policies, desired.ClassOfInterface.Count, desired.Ingress.ClassOfInterface.Count, reconciler.Local.Count, desired.Classes.Count + desired.Ingress.Classes.Count);
    }
}
