using System.Globalization;
using System.Text;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>What the agent counts, rendered in the Prometheus text format. Written by the main
/// loop, read by the status server; every field is read and written atomically.</summary>
public sealed class AgentMetrics
{
    private readonly LatencyHistogram applyLatency = new("egress_agent_apply_seconds", "time from reading a change to the kernel holding it (the sync itself)");
    private readonly LatencyHistogram eventLatency = new("egress_agent_event_to_enforced_seconds", "time from a source reporting a change (watch event, file event, CNI ADD) to the kernel holding it");
    private long fullSyncs, incrementalUpdates, driftRepairs, stoppedFlows, announcements, hostLinkDeletions, manifestProblems;
    private long policies, isolatedPods, ingressIsolatedPods, localPods, classes, unreachableNodes;
    private long ready, heartbeatTicks = Environment.TickCount64, sourceErrors;
    private volatile string? unreachable;
    private DateTime? lastFullSync;
    private readonly DateTime started = DateTime.UtcNow;

    /// <summary>Ready once the first full sync is in the kernel, and while the source reaches the cluster.</summary>
    public bool Ready => Interlocked.Read(ref ready) == 1 && unreachable == null;

    /// <summary>Why /readyz says no; null when ready.</summary>
    public string? NotReadyReason => Interlocked.Read(ref ready) == 0 ? "no full sync yet"
        : unreachable is { } why ? $"cluster unreachable ({why}); enforcing the last known state" : null;

    public void Source(string? unreachableReason, long errors)
    {
        unreachable = unreachableReason;
        Interlocked.Exchange(ref sourceErrors, errors);
    }

    /// <summary>The main loop is alive when it went round within this long.</summary>
    public bool Alive(TimeSpan within) => Environment.TickCount64 - Interlocked.Read(ref heartbeatTicks) < within.TotalMilliseconds;

    public void Heartbeat() => Interlocked.Exchange(ref heartbeatTicks, Environment.TickCount64);

    public void MarkReady() => Interlocked.Exchange(ref ready, 1);

    public void Applied(TimeSpan latency, bool full)
    {
        if (full) lastFullSync = DateTime.UtcNow;
        Interlocked.Increment(ref full ? ref fullSyncs : ref incrementalUpdates);
        applyLatency.Observe(latency);
    }

    public void Enforced(TimeSpan sinceEvent) => eventLatency.Observe(sinceEvent);

    public void DriftRepaired() => Interlocked.Increment(ref driftRepairs);
    public void FlowsStopped(int count) => Interlocked.Add(ref stoppedFlows, count);
    public void Announced(int count) => Interlocked.Add(ref announcements, count);
    public void HostLinkDeleted() => Interlocked.Increment(ref hostLinkDeletions);
    public void ManifestProblems(int count) => Interlocked.Exchange(ref manifestProblems, count);
    public void UnreachableNodes(int count) => Interlocked.Exchange(ref unreachableNodes, count);

    /// <param name="policyCount">Null when the caller did not read the policies (a CNI announcement).</param>
    public void State(int? policyCount, int isolated, int ingressIsolated, int local, int classCount)
    {
        if (policyCount is { } count) Interlocked.Exchange(ref policies, count);
        Interlocked.Exchange(ref isolatedPods, isolated);
        Interlocked.Exchange(ref ingressIsolatedPods, ingressIsolated);
        Interlocked.Exchange(ref localPods, local);
        Interlocked.Exchange(ref classes, classCount);
    }

    /// <summary>The agent's side of `egress-agent status`.</summary>
    public System.Text.Json.Nodes.JsonObject Status() => new()
    {
        ["health"] = NotReadyReason ?? "ready",
        ["started"] = started.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["lastFullSync"] = lastFullSync?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["fullSyncs"] = Interlocked.Read(ref fullSyncs),
        ["incrementalUpdates"] = Interlocked.Read(ref incrementalUpdates),
        ["driftRepairs"] = Interlocked.Read(ref driftRepairs),
        ["stoppedFlows"] = Interlocked.Read(ref stoppedFlows),
        ["announcements"] = Interlocked.Read(ref announcements),
        ["hostLinkDeletions"] = Interlocked.Read(ref hostLinkDeletions),
        ["manifestProblems"] = Interlocked.Read(ref manifestProblems),
        ["sourceErrors"] = Interlocked.Read(ref sourceErrors),
    };

    /// <param name="deniedPackets">Per direction ("egress", "ingress"), per pod interface: the
    /// kernel's pod-denials and pod-ingress-denials counters.</param>
    public string Render(IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> deniedPackets)
    {
        var text = new StringBuilder();
        Gauge(text, "egress_agent_ready", "1 once the first full sync is in the kernel and while the cluster is reachable", Ready ? 1 : 0);
        Gauge(text, "egress_agent_api_reachable", "0 while the API server (or the manifest folder) cannot be read; the last known state stays enforced", unreachable == null ? 1 : 0);
        Counter(text, "egress_agent_api_errors_total", "failed list and watch calls to the API server", Interlocked.Read(ref sourceErrors));
        Gauge(text, "egress_agent_policies", "NetworkPolicies known", Interlocked.Read(ref policies));
        Gauge(text, "egress_agent_local_pods", "pods wired on this node", Interlocked.Read(ref localPods));
        Gauge(text, "egress_agent_isolated_pods", "local pods isolated for egress", Interlocked.Read(ref isolatedPods));
        Gauge(text, "egress_agent_ingress_isolated_pods", "local pods isolated for ingress", Interlocked.Read(ref ingressIsolatedPods));
        Gauge(text, "egress_agent_unreachable_node_routes", "pod CIDRs of other nodes that have no route from here (address not directly connected, no address of the family, a route not ours)", Interlocked.Read(ref unreachableNodes));
        Gauge(text, "egress_agent_classes", "classes of pods sharing the same policies (both directions)", Interlocked.Read(ref classes));
        Counter(text, "egress_agent_full_syncs_total", "full syncs (start, pool growth, drift repair)", Interlocked.Read(ref fullSyncs));
        Counter(text, "egress_agent_incremental_updates_total", "updates applied as element changes", Interlocked.Read(ref incrementalUpdates));
        Counter(text, "egress_agent_drift_repairs_total", "times the table was found changed by someone else and rewritten", Interlocked.Read(ref driftRepairs));
        Counter(text, "egress_agent_stopped_flows_total", "established connections stopped because a policy tightened", Interlocked.Read(ref stoppedFlows));
        Counter(text, "egress_agent_cni_announcements_total", "CNI ADDs served on the agent socket", Interlocked.Read(ref announcements));
        Counter(text, "egress_agent_host_link_deletions_total", "pod host veths deleted for CNI DELs on the agent socket", Interlocked.Read(ref hostLinkDeletions));
        Gauge(text, "egress_agent_manifest_problems", "manifest documents skipped in the last reading", Interlocked.Read(ref manifestProblems));
        var memory = GC.GetGCMemoryInfo();
        Gauge(text, "egress_agent_gc_heap_bytes", "managed heap after the last collection", memory.HeapSizeBytes);
        Gauge(text, "egress_agent_gc_committed_bytes", "memory the garbage collector holds from the system", memory.TotalCommittedBytes);
        Gauge(text, "process_resident_memory_bytes", "resident set size", Environment.WorkingSet);
        applyLatency.Render(text);
        eventLatency.Render(text);
        text.Append("# HELP egress_agent_denied_packets_total packets from (egress) or to (ingress) a pod that its policies denied\n# TYPE egress_agent_denied_packets_total counter\n");
        foreach (var (direction, counters) in deniedPackets.OrderBy(p => p.Key, StringComparer.Ordinal))
            foreach (var (pod, packets) in counters.OrderBy(p => p.Key, StringComparer.Ordinal))
                text.Append(CultureInfo.InvariantCulture, $"egress_agent_denied_packets_total{{pod=\"{pod}\",direction=\"{direction}\"}} {packets}\n");
        return text.ToString();
    }

    private static void Gauge(StringBuilder text, string name, string help, long value) => Metric(text, name, help, "gauge", value);
    private static void Counter(StringBuilder text, string name, string help, long value) => Metric(text, name, help, "counter", value);

    private static void Metric(StringBuilder text, string name, string help, string type, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name} {value}\n");
}
