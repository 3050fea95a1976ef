using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Diagnostics;

/// <summary>What the debug CLI's questions are asked of: the compiler's state and what it
/// compiled, where that came from, and the agent's own counters (null offline).</summary>
public sealed record NodeView(EgressCompilation Compilation, DesiredDataplane Desired, string Source, JsonObject? Agent);

/// <summary>An answer in two parts: what the compiler's state says, computed where that state
/// lives (the agent's main loop), and, when the question is about the kernel, the part that reads
/// it back. Listing a large table takes a while, and only immutable data is needed for it, so
/// the agent does it off its loop: CNI ADDs never wait behind a `ruleset --diff`.</summary>
public sealed record PendingAnswer(JsonObject Document, Action<JsonObject, KernelTable?>? AddKernel = null)
{
    /// <param name="readKernel">Our table as the kernel holds it; null when there is none.</param>
    public JsonObject Complete(Func<KernelTable?> readKernel)
    {
        AddKernel?.Invoke(Document, readKernel());
        return Document;
    }
}

/// <summary>The answers of `status`, `explain` and `ruleset` as JSON documents. The agent serves
/// them over its socket from its live state; offline, the CLI computes the same documents from
/// the manifests itself. Every verdict comes from the compiled dataplane the kernel is written
/// from (<see cref="DataplaneVerdict"/>); the policy-level reasons say why.</summary>
public static class NodeQueries
{
    /// <summary>Dispatches `{"command": ...}`; a bad question gets `{"error": ...}`.</summary>
    public static PendingAnswer Answer(JsonObject request, NodeView view)
    {
        try
        {
            return (string?)request["command"] switch
            {
                "status" => Status(view),
                "explain" => Explain(view, (string?)request["from"] ?? "", (string?)request["to"] ?? "", (bool?)request["kernel"] ?? false),
                "ruleset" => Ruleset(view, (bool?)request["diff"] ?? false),
                var other => throw new QueryException($"unknown command '{other}' (status, explain, ruleset)"),
            };
        }
        catch (QueryException e)
        {
            return new(new JsonObject { ["error"] = e.Message });
        }
    }

    public static PendingAnswer Status(NodeView view) => new(new JsonObject
    {
        ["source"] = view.Source,
        ["agent"] = view.Agent?.DeepClone(),
        ["pods"] = new JsonArray([.. LocalPods(view).Select(l => PodEntry(view, l))]),
        ["problems"] = new JsonArray([.. view.Desired.Problems.Select(p => (JsonNode)p.ToString())]),
    }, (document, kernel) =>
    {
        var counts = kernel?.ElementCounts ?? new Dictionary<string, int>();
        var sets = new JsonObject();
        foreach (var (name, count) in counts.Where(c => c.Value > 0).OrderBy(c => c.Key, StringComparer.Ordinal)) sets[name] = count;
        document["kernel"] = new JsonObject { ["table"] = kernel != null, ["elements"] = counts.Values.Sum(), ["sets"] = sets };
    });

    public static PendingAnswer Ruleset(NodeView view, bool diff)
    {
        var pods = new JsonArray();
        foreach (var local in LocalPods(view))
        {
            var entry = PodEntry(view, local);
            entry["allows"] = view.Desired.ClassOfInterface.TryGetValue(local.HostInterface, out var id)
                ? new JsonArray([.. AllowedTraffic.Of(view.Desired.Classes[id]).Lines().Select(l => (JsonNode)l)])
                : new JsonArray("everything (not isolated)");
            pods.Add((JsonNode)entry);
        }
        var answer = new JsonObject { ["source"] = view.Source, ["pods"] = pods };
        if (!diff) return new(answer);
        var desired = view.Desired;
        return new(answer, (document, kernel) =>
        {
            document["kernelTable"] = kernel != null;
            var differences = kernel == null ? ["table inet " + EgressRuleset.Table + " is not in the kernel"]
                : DataplaneDiff.Between(desired, kernel.ToDataplane());
            document["differences"] = new JsonArray([.. differences.Select(d => (JsonNode)d)]);
        });
    }

    public static PendingAnswer Explain(NodeView view, string from, string to, bool checkKernel)
    {
        var interfaces = FindLocalPod(view, from);
        var target = FlowTarget.Parse(to);
        var sourceAddresses = interfaces.SelectMany(i => i.Addresses).ToList();
        var destination = target.Address ?? PodAddress(view, target.Pod!, sourceAddresses);
        var source = sourceAddresses.FirstOrDefault(a => a.AddressFamily == destination.AddressFamily)
            ?? throw new QueryException($"{from} has no {(destination.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} address to reach {destination} from");
        var local = interfaces.First(i => i.Addresses.Contains(source));
        var flow = new Flow(local.HostInterface, source, destination, target.Protocol, target.Port);

        var why = view.Compilation.Explain(local.Namespace, local.Name, destination, target.Protocol, target.Port);
        var compiled = Verdict(view.Desired, flow);
        var answer = new JsonObject
        {
            ["source"] = view.Source,
            ["from"] = $"{local.Namespace}/{local.Name}",
            ["interface"] = local.HostInterface,
            ["sourceAddress"] = source.ToString(),
            ["destination"] = destination.ToString(),
            ["destinationPod"] = why.DestinationPod,
            ["protocol"] = target.Port == null ? null : Protocols.Name(target.Protocol),
            ["port"] = target.Port,
            ["allowed"] = compiled.Allowed,
            ["allowedPorts"] = target.Port == null ? new JsonArray([.. compiled.Ports.Select(p => (JsonNode)p)]) : null,
            ["summary"] = why.Summary,
            ["isolatedBy"] = new JsonArray([.. why.IsolatedBy.Select(p => (JsonNode)p)]),
            ["rules"] = new JsonArray([.. why.Rules.Select(r => (JsonNode)new JsonObject
            {
                ["rule"] = r.Name,
                ["allows"] = r.Allows,
                ["opens"] = r.Opens,
                ["reasons"] = new JsonArray([.. r.Reasons.Select(x => (JsonNode)x)]),
            })]),
        };
        // The two readings come from different code; if they ever part, say so rather than pick
        // one. (Without a port, rules whose peers match may still open nothing that resolves.)
        if (compiled.Allowed != why.Allowed && (target.Port != null || compiled.Allowed))
            answer["warning"] = $"the compiled dataplane {(compiled.Allowed ? "allows" : "denies")} this flow but the rules say {(why.Allowed ? "allowed" : "denied")}: please report this";
        if (!checkKernel) return new(answer);
        return new(answer, (document, kernel) =>
        {
            var live = kernel == null ? null : Verdict(kernel.ToDataplane(), flow);
            document["kernel"] = new JsonObject
            {
                ["table"] = kernel != null,
                ["allowed"] = live?.Allowed,
                ["allowedPorts"] = target.Port == null && live != null ? new JsonArray([.. live.Ports.Select(p => (JsonNode)p)]) : null,
                ["agrees"] = live != null && live.Allowed == compiled.Allowed && live.Ports.SequenceEqual(compiled.Ports),
            };
        });
    }

    /// <summary>One flow to explain; <see cref="Port"/> null asks which ports are open.</summary>
    private sealed record Flow(string HostInterface, IPAddress Source, IPAddress Destination, byte Protocol, int? Port);

    private sealed record FlowVerdict(bool Allowed, IReadOnlyList<string> Ports);

    /// <summary>What a dataplane (compiled, or read back from the kernel) says of a flow: with a
    /// port, allowed or not; without one, the ports it opens to the destination.</summary>
    private static FlowVerdict Verdict(DesiredDataplane dataplane, Flow flow)
    {
        if (flow.Port is { } port)
            return new(DataplaneVerdict.Allows(dataplane, flow.HostInterface, flow.Source, flow.Destination, flow.Protocol, port), []);
        if (!DataplaneVerdict.SourcePermitted(dataplane, flow.HostInterface, flow.Source)) return new(false, []);
        if (!dataplane.ClassOfInterface.TryGetValue(flow.HostInterface, out var id)) return new(true, ["every port"]);
        var allowed = AllowedTraffic.Of(dataplane.Classes[id]);
        List<string> ports = allowed.AnyPort.Any(r => r.Contains(flow.Destination)) ? ["every port"]
            : allowed.Ports.Where(p => p.Destinations.Any(r => r.Contains(flow.Destination))).Select(p => p.Label).ToList();
        return new(ports.Count > 0, ports);
    }

    private static IEnumerable<LocalPod> LocalPods(NodeView view) =>
        view.Compilation.LocalPods.Values.OrderBy(l => l.Namespace, StringComparer.Ordinal).ThenBy(l => l.Name, StringComparer.Ordinal)
            .ThenBy(l => l.HostInterface, StringComparer.Ordinal);

    private static JsonObject PodEntry(NodeView view, LocalPod local)
    {
        bool isolated = view.Desired.ClassOfInterface.TryGetValue(local.HostInterface, out var id);
        return new JsonObject
        {
            ["pod"] = $"{local.Namespace}/{local.Name}",
            ["interface"] = local.HostInterface,
            ["addresses"] = new JsonArray([.. local.Addresses.Select(a => (JsonNode)a.ToString())]),
            ["isolated"] = isolated,
            ["policies"] = new JsonArray([.. (isolated ? view.Desired.Classes[id!].Policies : []).Select(p => (JsonNode)p)]),
        };
    }

    private static List<LocalPod> FindLocalPod(NodeView view, string pod)
    {
        if (pod.Split('/') is not [{ Length: > 0 } ns, { Length: > 0 } name])
            throw new QueryException($"'{pod}' is not NAMESPACE/POD");
        var found = view.Compilation.LocalPods.Values.Where(l => l.Namespace == ns && l.Name == name).ToList();
        if (found.Count == 0)
            throw new QueryException($"pod {pod} has no interface on this node" + (view.Compilation.Pod(ns, name) == null ? " (nor does the cluster know it)" : " (it runs on another node)"));
        return found;
    }

    private static IPAddress PodAddress(NodeView view, string pod, List<IPAddress> sourceAddresses)
    {
        string[] parts = pod.Split('/');
        var addresses = view.Compilation.Pod(parts[0], parts[1])?.Addresses
            ?? throw new QueryException($"pod {pod} is not known to the cluster");
        if (addresses.Count == 0) throw new QueryException($"pod {pod} has no address yet");
        return addresses.FirstOrDefault(a => sourceAddresses.Any(s => s.AddressFamily == a.AddressFamily)) ?? addresses[0];
    }
}
