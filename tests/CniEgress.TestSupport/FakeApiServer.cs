using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace CniEgress.TestSupport;

/// <summary>An in-process stand-in for kube-apiserver that speaks the list/watch protocol the
/// agent uses: lists with a resourceVersion, chunked watch streams of JSON events resumed from a
/// version, 410 Gone (ERROR event) for a compacted version, dropped connections, and an outage.
/// Its socket lives in a given network namespace (a path such as /run/netns/node), so an agent
/// running there reaches it on 127.0.0.1. Serves namespaces, pods and networkpolicies of all
/// namespaces, nodes, and GETs of one pod.</summary>
public sealed partial class FakeApiServer : IDisposable
{
    private static readonly Dictionary<string, (string Path, string ApiVersion, string ListKind)> Resources = new()
    {
        ["namespaces"] = ("/api/v1/namespaces", "v1", "NamespaceList"),
        ["pods"] = ("/api/v1/pods", "v1", "PodList"),
        ["networkpolicies"] = ("/apis/networking.k8s.io/v1/networkpolicies", "networking.k8s.io/v1", "NetworkPolicyList"),
        ["nodes"] = ("/api/v1/nodes", "v1", "NodeList"),
    };

    private readonly Socket listener;
    private readonly Lock gate = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> store = Resources.Keys.ToDictionary(r => r, _ => new SortedDictionary<string, JsonObject>(StringComparer.Ordinal));
    private readonly List<(long Version, string Resource, string Type, JsonObject Object)> history = [];
    private readonly List<(string Resource, Socket Client)> watches = [];
    private long version = 100;
    private long compactedBelow;
    private volatile bool away;
    private volatile bool disposed;

    public FakeApiServer(string netnsPath)
    {
        using var netns = CniEgress.Netns.NetworkNamespace.Open(netnsPath);
        listener = netns.Run(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Listen(64);
            return socket;
        });
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        new Thread(Accept) { IsBackground = true }.Start();
    }

    public int Port { get; }

    /// <summary>Events the agent posted.</summary>
    public List<JsonObject> Events { get; } = [];

    /// <summary>Requests seen, as "list pods" / "watch pods from 105".</summary>
    public List<string> Requests { get; } = [];

    public string Kubeconfig(string directory)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster: {"{"}server: "http://127.0.0.1:{Port}"{"}"}
            users:
            - name: fake
              user: {"{"}token: fake-token{"}"}
            contexts:
            - name: fake
              context: {"{"}cluster: fake, user: fake{"}"}
            current-context: fake
            """);
        return path;
    }

    public void Upsert(string resource, object item) => Change(resource, item, deleted: false);

    /// <summary>Stores the object without telling any watch, as when the watch lags behind: only a
    /// list or a direct GET of the object sees it.</summary>
    public void UpsertUnwatched(string resource, object item) => Change(resource, item, deleted: false, notify: false);

    public void Delete(string resource, object item) => Change(resource, item, deleted: true);

    /// <summary>Closes every open watch, as a load balancer or an apiserver restart would.</summary>
    public void DropWatches()
    {
        lock (gate)
        {
            foreach (var (_, client) in watches) client.Dispose();
            watches.Clear();
        }
    }

    /// <summary>Forgets the history: a watch from any version seen so far gets 410 Gone.</summary>
    public void Compact()
    {
        lock (gate) compactedBelow = version + 1;
    }

    /// <summary>While away, every connection is closed at once.</summary>
    public bool Away
    {
        get => away;
        set
        {
            away = value;
            if (value) DropWatches();
        }
    }

    public void Dispose()
    {
        disposed = true;
        listener.Dispose();
        DropWatches();
    }

    private void Change(string resource, object item, bool deleted, bool notify = true)
    {
        var json = JsonNode.Parse(k8s.KubernetesJson.Serialize(item))!.AsObject();
        var meta = json["metadata"]!.AsObject();
        string key = $"{(string?)meta["namespace"]}/{(string?)meta["name"]}";
        lock (gate)
        {
            meta["resourceVersion"] = (++version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (deleted) store[resource].Remove(key);
            else store[resource][key] = json;
            string type = deleted ? "DELETED" : "MODIFIED";
            if (!notify) return;
            history.Add((version, resource, type, json));
            foreach (var (watched, client) in watches.ToList())
                if (watched == resource && !TrySend(client, Event(type, json))) watches.Remove((watched, client));
        }
    }

    private void Accept()
    {
        while (!disposed)
        {
            Socket client;
            try { client = listener.Accept(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            new Thread(() => Serve(client)) { IsBackground = true }.Start();
        }
    }

    private void Serve(Socket client)
    {
        try
        {
            if (away) { client.Dispose(); return; }
            var (head, body) = ReadRequest(client);
            string target = head.Split(' ')[1];
            if (head.StartsWith("POST ", StringComparison.Ordinal) && target.EndsWith("/events", StringComparison.Ordinal))
            {
                lock (gate) Events.Add(JsonNode.Parse(body)!.AsObject());
                Respond(client, "201 Created", body);
                return;
            }
            string path = target.Split('?')[0];
            if (SinglePod().Match(path) is { Success: true } single)
            {
                Get(client, "pods", $"{single.Groups[1].Value}/{single.Groups[2].Value}");
                return;
            }
            var query = System.Web.HttpUtility.ParseQueryString(target.Contains('?', StringComparison.Ordinal) ? target[(target.IndexOf('?', StringComparison.Ordinal) + 1)..] : "");
            string? resource = Resources.FirstOrDefault(r => r.Value.Path == path).Key;
            if (resource == null)
            {
                Respond(client, "404 Not Found", "{}");
                return;
            }
            if (query["watch"] is "true" or "1") Watch(client, resource, query["resourceVersion"]);
            else List(client, resource);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            client.Dispose();
        }
    }

    private void Get(Socket client, string resource, string key)
    {
        string? body;
        lock (gate)
        {
            Requests.Add($"get {resource} {key}");
            body = store[resource].GetValueOrDefault(key)?.ToJsonString();
        }
        if (body != null) Respond(client, "200 OK", body);
        else Respond(client, "404 Not Found", new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "NotFound", ["code"] = 404 }.ToJsonString());
    }

    [System.Text.RegularExpressions.GeneratedRegex("^/api/v1/namespaces/([^/]+)/pods/([^/]+)$")]
    private static partial System.Text.RegularExpressions.Regex SinglePod();

    private void List(Socket client, string resource)
    {
        string body;
        lock (gate)
        {
            Requests.Add("list " + resource);
            var (_, apiVersion, kind) = Resources[resource];
            body = new JsonObject
            {
                ["apiVersion"] = apiVersion,
                ["kind"] = kind,
                ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["items"] = new JsonArray(store[resource].Values.Select(o => (JsonNode)o.DeepClone()).ToArray()),
            }.ToJsonString();
        }
        Respond(client, "200 OK", body);
    }

    private void Watch(Socket client, string resource, string? from)
    {
        long since = long.TryParse(from, out long parsed) ? parsed : 0;
        lock (gate)
        {
            Requests.Add($"watch {resource} from {since}");
            client.Send(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
            if (since < compactedBelow)
            {
                var status = new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "Expired", ["code"] = 410, ["message"] = $"too old resource version: {since}" };
                TrySend(client, Event("ERROR", status));
                client.Send("0\r\n\r\n"u8);
                client.Dispose();
                return;
            }
            foreach (var change in history.Where(h => h.Resource == resource && h.Version > since))
                TrySend(client, Event(change.Type, change.Object));
            watches.Add((resource, client));
        }
    }

    private static string Event(string type, JsonObject item) => new JsonObject { ["type"] = type, ["object"] = item.DeepClone() }.ToJsonString() + "\n";

    private static bool TrySend(Socket client, string line)
    {
        try
        {
            byte[] data = Encoding.UTF8.GetBytes(line);
            client.Send(Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"));
            client.Send(data);
            client.Send("\r\n"u8);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private static void Respond(Socket client, string status, string body)
    {
        byte[] data = Encoding.UTF8.GetBytes(body);
        client.Send(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {data.Length}\r\nConnection: close\r\n\r\n"));
        client.Send(data);
        client.Shutdown(SocketShutdown.Both);
        client.Dispose();
    }

    /// <summary>The request head, and its body when it announces a Content-Length.</summary>
    private static (string Head, string Body) ReadRequest(Socket client)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        int headEnd = -1, length = 0;
        while (received.Count < 1 << 20)
        {
            if (headEnd < 0)
            {
                string text = Encoding.ASCII.GetString(received.ToArray());
                headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headEnd >= 0)
                {
                    var match = System.Text.RegularExpressions.Regex.Match(text[..headEnd], @"(?im)^content-length:\s*(\d+)");
                    length = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
                }
            }
            if (headEnd >= 0 && received.Count >= headEnd + 4 + length) break;
            int read = client.Receive(buffer);
            if (read == 0) break;
            received.AddRange(buffer.AsSpan(0, read));
        }
        var bytes = received.ToArray();
        return headEnd < 0 ? (Encoding.ASCII.GetString(bytes), "") : (Encoding.ASCII.GetString(bytes, 0, headEnd), Encoding.UTF8.GetString(bytes, headEnd + 4, Math.Min(length, bytes.Length - headEnd - 4)));
    }
}
