using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CniEgress.PolicyAgent.Nftables;
using CniEgress.PolicyAgent.Policy;

namespace CniEgress.PolicyAgent.Diagnostics;

/// <summary>What the debug CLI's questions are asked of: the compiler's state and what it
/// compiled, where that came from, and the agent's own counters (null offline).</summary>
public sealed record NodeView(PolicyCompilation Compilation, DesiredDataplane Desired, string Source, JsonObject? Agent);

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
            entry["accepts"] = view.Desired.Ingress.ClassOfInterface.TryGetValue(local.HostInterface, out var ingressId)
                ? new JsonArray([.. AllowedTraffic.Of(view.Desired.Ingress.Classes[ingressId]).Lines().Select(l => (JsonNode)l.Replace(": ", " from ", StringComparison.Ordinal))])
                : new JsonArray("everything (not isolated)");
            pods.Add((JsonNode)entry);
        }
        var answer = new JsonObject { ["source"] = view.Source, ["pods"] = pods };
        if (!diff) return new(answer);
        var desired = view.Desired;
        return new(answer, (document, kernel) =>
        {
            document["kernelTable"] = kernel != null;
            var differences = kernel == null ? ["table inet " + NftRuleset.Table + " is not in the kernel"]
                : DataplaneDiff.Between(desired, kernel.ToDataplane());
            document["differences"] = new JsonArray([.. differences.Select(d => (JsonNode)d)]);
        });
    }

    /// <summary>A flow seen from this node: the egress of its source when that is a local pod, the
    /// ingress of its destination when that is one (both for two pods of the node).</summary>
    public static PendingAnswer Explain(NodeView view, string from, string to, bool checkKernel)
    {
        var target = FlowTarget.Parse(to);
        var (sourceName, sourceAddresses, sourceInterfaces) = Origin(view, from);
        var destination = target.Address ?? PodAddress(view, target.Pod!, sourceAddresses);
        var source = sourceAddresses.FirstOrDefault(a => a.AddressFamily == destination.AddressFamily)
            ?? throw new QueryException($"{from} has no {(destination.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} address to reach {destination} from");
        var sender = sourceInterfaces.FirstOrDefault(i => i.Addresses.Contains(source));
        var receiver = view.Compilation.LocalPods.Values.OrderBy(l => l.HostInterface, StringComparer.Ordinal).FirstOrDefault(l => l.Addresses.Contains(destination));
        if (sender == null && receiver == null)
            throw new QueryException($"neither {from} nor {destination} is a pod on this node: no policy of this node sees that flow");
        var flow = new Flow(sender?.HostInterface, receiver?.HostInterface, source, destination, target.Protocol, target.Port);

        var egress = sender == null ? null : view.Compilation.Explain(Direction.Egress, sender.Namespace, sender.Name, destination, target.Protocol, target.Port);
        var ingress = receiver == null ? null : view.Compilation.Explain(Direction.Ingress, receiver.Namespace, receiver.Name, source, target.Protocol, target.Port);
        var compiled = Verdict(view.Desired, flow);
        var sides = new[] { egress, ingress }.OfType<PolicyExplanation>().ToList();
        var isolated = sides.Where(s => s.Isolated).ToList();
        string summary = isolated.Count == 2
            ? $"egress: {egress!.Summary}; ingress: {ingress!.Summary}"
            : (isolated.Count == 1 ? isolated[0] : sides[0]).Summary;
        var answer = new JsonObject
        {
            ["source"] = view.Source,
            ["from"] = sender != null ? $"{sender.Namespace}/{sender.Name}" : sourceName ?? source.ToString(),
            ["interface"] = sender?.HostInterface,
            ["sourceAddress"] = source.ToString(),
            ["destination"] = destination.ToString(),
            ["destinationPod"] = receiver != null ? $"{receiver.Namespace}/{receiver.Name}" : egress?.PeerPod,
            ["destinationInterface"] = receiver?.HostInterface,
            ["protocol"] = target.Port == null ? null : Protocols.Name(target.Protocol),
            ["port"] = target.Port,
            ["allowed"] = compiled.Allowed,
            ["allowedPorts"] = target.Port == null ? new JsonArray([.. compiled.Ports.Select(p => (JsonNode)p)]) : null,
            ["summary"] = summary,
            ["egress"] = Side(egress),
            ["ingress"] = Side(ingress),
            ["isolatedBy"] = new JsonArray([.. sides.SelectMany(s => s.IsolatedBy).Distinct(StringComparer.Ordinal).Select(p => (JsonNode)p)]),
            ["rules"] = new JsonArray([.. sides.SelectMany(s => s.Rules).Select(r => (JsonNode)new JsonObject
            {
                ["rule"] = r.Name,
                ["allows"] = r.Allows,
                ["opens"] = r.Opens,
                ["reasons"] = new JsonArray([.. r.Reasons.Select(x => (JsonNode)x)]),
            })]),
        };
        // The two readings come from different code; if they ever part, say so rather than pick
        // one. (Without a port, rules whose peers match may still open nothing that resolves.)
        bool reasoned = sides.All(s => s.Allowed);
        if (compiled.Allowed != reasoned && (target.Port != null || compiled.Allowed))
            answer["warning"] = $"the compiled dataplane {(compiled.Allowed ? "allows" : "denies")} this flow but the rules say {(reasoned ? "allowed" : "denied")}: please report this";
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

    private static JsonObject? Side(PolicyExplanation? why) => why == null ? null
        : new JsonObject { ["allowed"] = why.Allowed, ["isolated"] = why.Isolated, ["summary"] = why.Summary };

    /// <summary>`--from`: a pod (this node's, or another node's by its reported addresses) or an address.</summary>
    private static (string? Name, List<IPAddress> Addresses, List<LocalPod> Local) Origin(NodeView view, string from)
    {
        if (IPAddress.TryParse(from, out var address))
            return (null, [address], view.Compilation.LocalPods.Values.Where(l => l.Addresses.Contains(address)).ToList());
        if (from.Split('/') is not [{ Length: > 0 } ns, { Length: > 0 } name])
            throw new QueryException($"'{from}' is neither an address nor NAMESPACE/POD");
        var local = view.Compilation.LocalPods.Values.Where(l => l.Namespace == ns && l.Name == name).ToList();
        if (local.Count > 0) return (from, local.SelectMany(l => l.Addresses).ToList(), local);
        var remote = view.Compilation.Pod(ns, name)
            ?? throw new QueryException($"pod {from} has no interface on this node (nor does the cluster know it)");
        if (remote.Addresses.Count == 0) throw new QueryException($"pod {from} runs on another node and has no address yet");
        return (from, [.. remote.Addresses], []);
    }

    /// <summary>One flow to explain; <see cref="Port"/> null asks which ports are open. The
    /// interfaces are those of local pods: the sender's (egress), the receiver's (ingress).</summary>
    private sealed record Flow(string? Sender, string? Receiver, IPAddress Source, IPAddress Destination, byte Protocol, int? Port);

    private sealed record FlowVerdict(bool Allowed, IReadOnlyList<string> Ports);

    /// <summary>What a dataplane (compiled, or read back from the kernel) says of a flow: with a
    /// port, allowed or not; without one, the ports both sides open.</summary>
    private static FlowVerdict Verdict(DesiredDataplane dataplane, Flow flow)
    {
        if (flow.Port is { } port)
            return new((flow.Sender == null || DataplaneVerdict.Allows(dataplane, flow.Sender, flow.Source, flow.Destination, flow.Protocol, port))
                && (flow.Receiver == null || dataplane.Ingress.Allows(flow.Receiver, flow.Source, flow.Protocol, port)), []);
        if (flow.Sender != null && !DataplaneVerdict.SourcePermitted(dataplane, flow.Sender, flow.Source)) return new(false, []);
        var open = OpenPorts.Intersect(
            flow.Sender == null ? OpenPorts.Every : OpenPorts.Of(dataplane.ClassOfInterface, dataplane.Classes, flow.Sender, flow.Destination),
            flow.Receiver == null ? OpenPorts.Every : OpenPorts.Of(dataplane.Ingress.ClassOfInterface, dataplane.Ingress.Classes, flow.Receiver, flow.Source));
        var labels = open.Labels();
        return new(labels.Count > 0, labels);
    }

    private static IEnumerable<LocalPod> LocalPods(NodeView view) =>
        view.Compilation.LocalPods.Values.OrderBy(l => l.Namespace, StringComparer.Ordinal).ThenBy(l => l.Name, StringComparer.Ordinal)
            .ThenBy(l => l.HostInterface, StringComparer.Ordinal);

    /// <summary>A local pod: "isolated"/"policies" for egress, "ingressIsolated"/"ingressPolicies" for ingress.</summary>
    private static JsonObject PodEntry(NodeView view, LocalPod local)
    {
        bool isolated = view.Desired.ClassOfInterface.TryGetValue(local.HostInterface, out var id);
        bool ingressIsolated = view.Desired.Ingress.ClassOfInterface.TryGetValue(local.HostInterface, out var ingressId);
        return new JsonObject
        {
            ["pod"] = $"{local.Namespace}/{local.Name}",
            ["interface"] = local.HostInterface,
            ["addresses"] = new JsonArray([.. local.Addresses.Select(a => (JsonNode)a.ToString())]),
            ["isolated"] = isolated,
            ["policies"] = new JsonArray([.. (isolated ? view.Desired.Classes[id!].Policies : []).Select(p => (JsonNode)p)]),
            ["ingressIsolated"] = ingressIsolated,
            ["ingressPolicies"] = new JsonArray([.. (ingressIsolated ? view.Desired.Ingress.Classes[ingressId!].Policies : []).Select(p => (JsonNode)p)]),
        };
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
