using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>The agent's local socket (root only). The CNI plugin's ADD announces its attachment
/// (`{"containerId", "ifName"}`) and waits for `{"ok": true}`, sent only once the pod's policy is
/// in the kernel; its DEL may ask for the pod's host veth to be deleted (`{"deleteLink": name}`,
/// answered the same way by <see cref="HostLinkDeleter"/> on a thread of its own); the debug CLI
/// asks questions (`{"command": "status" | "explain" | "ruleset"}`) and gets one JSON document
/// back. Announcements and questions are handed to the main loop, which answers them between
/// changes from the state it holds; this class only talks.</summary>
public sealed class AgentSocket : IDisposable
{
    private readonly Socket socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly BlockingCollection<Announcement> queue = [];
    private readonly BlockingCollection<Query> queries = [];
    private readonly Action signal;
    private readonly Action wake;
    private readonly HostLinkDeleter deleter;
    private readonly Thread acceptor;
    private volatile bool stopping;

    /// <summary>One ADD waiting for its pod to be enforced.</summary>
    public sealed class Announcement(string containerId, string ifName, Socket client)
    {
        private readonly long received = System.Diagnostics.Stopwatch.GetTimestamp();

        public string ContainerId { get; } = containerId;
        public string IfName { get; } = ifName;

        /// <summary>Since the request was read.</summary>
        public TimeSpan Waited => System.Diagnostics.Stopwatch.GetElapsedTime(received);

        public void Reply(string? error) => ReplyToPlugin(client, error);
    }

    /// <summary>`{"ok": true}`, or `{"ok": false, "error": ...}`, and the connection closed.</summary>
    private static void ReplyToPlugin(Socket client, string? error)
    {
        var reply = error == null ? new JsonObject { ["ok"] = true } : new JsonObject { ["ok"] = false, ["error"] = error };
        try { client.Send(Encoding.UTF8.GetBytes(reply.ToJsonString() + "\n")); }
        catch (SocketException) { } // the plugin gave up waiting
        finally { client.Dispose(); }
    }

    /// <summary>One question of the debug CLI.</summary>
    public sealed class Query(JsonObject request, Socket client)
    {
        public JsonObject Request { get; } = request;

        public void Reply(JsonObject answer)
        {
            try
            {
                client.SendTimeout = 5000;
                client.Send(Encoding.UTF8.GetBytes(answer.ToJsonString() + "\n"));
            }
            catch (SocketException) { } // the CLI gave up waiting
            finally { client.Dispose(); }
        }
    }

    /// <param name="signal">An announcement: a change to read.</param>
    /// <param name="wake">A question: the loop should answer, nothing changed.</param>
    public AgentSocket(string path, Action signal, Action wake, HostLinkDeleter deleter)
    {
        this.signal = signal;
        this.wake = wake;
        this.deleter = deleter;
        File.Delete(path); // a socket file left by a previous agent
        socket.Bind(new UnixDomainSocketEndPoint(path));
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite); // root only
        socket.Listen(128);
        acceptor = new Thread(Accept) { IsBackground = true, Name = "attachment-listener" };
        acceptor.Start();
    }

    public bool HasPending => queue.Count > 0 || queries.Count > 0;

    /// <summary>The CLI's questions that arrived since the last call.</summary>
    public List<Query> TakeQueries()
    {
        var taken = new List<Query>();
        while (queries.TryTake(out var query)) taken.Add(query);
        return taken;
    }

    /// <summary>The announcements that arrived since the last call.</summary>
    public List<Announcement> Take()
    {
        var taken = new List<Announcement>();
        while (queue.TryTake(out var announcement)) taken.Add(announcement);
        return taken;
    }

    public void Dispose()
    {
        stopping = true;
        socket.Dispose();
        foreach (var pending in Take()) pending.Reply("agent stopping");
        foreach (var query in TakeQueries()) query.Reply(new JsonObject { ["error"] = "agent stopping" });
        queue.Dispose();
        queries.Dispose();
    }

    private void Accept()
    {
        while (!stopping)
        {
            Socket client;
            try { client = socket.Accept(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            // The plugin writes its request right after connecting: read it here, sparing the
            // thread pool's wake-up on the path of every ADD; a client that is slow to write is
            // read elsewhere, holding up the others 20 ms at most.
            if (client.Poll(TimeSpan.FromMilliseconds(20), SelectMode.SelectRead)) Read(client);
            else ThreadPool.QueueUserWorkItem(_ => Read(client));
        }
    }

    /// <summary>One request line of at most 4 KiB within 2 s; anything else is answered with an error.</summary>
    private void Read(Socket client)
    {
        try
        {
            client.ReceiveTimeout = 2000;
            var buffer = new byte[4096];
            int length = 0;
            while (length < buffer.Length && Array.IndexOf(buffer, (byte)'\n', 0, length) < 0)
            {
                int read = client.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
                if (read == 0) break;
                length += read;
            }
            var request = JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, length)) as JsonObject;
            if (request?["command"] != null)
            {
                queries.Add(new Query(request, client));
                wake();
                return;
            }
            if (request?["deleteLink"] is JsonValue link && link.TryGetValue(out string? linkName))
            {
                // Each deletion waits on its own thread: the kernel's request sleeps ~20 ms.
                new Thread(() => ReplyToPlugin(client, deleter.Delete(linkName))) { IsBackground = true, Name = "host-link-deletion" }.Start();
                return;
            }
            string? containerId = (string?)request?["containerId"], ifName = (string?)request?["ifName"];
            var announcement = new Announcement(containerId ?? "", ifName ?? "", client);
            if (string.IsNullOrEmpty(containerId) || string.IsNullOrEmpty(ifName))
            {
                announcement.Reply("a request is {\"containerId\": ..., \"ifName\": ...} or {\"deleteLink\": ...}");
                return;
            }
            queue.Add(announcement);
            signal();
        }
        catch (Exception e) when (e is SocketException or System.Text.Json.JsonException or InvalidOperationException or ObjectDisposedException)
        {
            new Announcement("", "", client).Reply("unreadable request: " + e.Message);
        }
    }
}
