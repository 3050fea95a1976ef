using System.Net;
using System.Text;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>/healthz (the main loop went round within 30 s), /readyz (the first full sync is in
/// the kernel and the cluster is reachable) and /metrics, on a local address for probes and
/// Prometheus.</summary>
public sealed class StatusServer : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly AgentMetrics metrics;
    private readonly Func<IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>>> deniedPackets;
    private readonly Thread thread;

    public StatusServer(string address, AgentMetrics metrics, Func<IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>>> deniedPackets)
    {
        this.metrics = metrics;
        this.deniedPackets = deniedPackets;
        listener.Prefixes.Add($"http://{address}/");
        listener.Start();
        thread = new Thread(Serve) { IsBackground = true, Name = "status-server" };
        thread.Start();
    }

    public void Dispose() => listener.Close();

    private void Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try { context = listener.GetContext(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try
            {
                var (status, body) = context.Request.Url?.AbsolutePath switch
                {
                    "/healthz" => metrics.Alive(TimeSpan.FromSeconds(30)) ? (200, "ok\n") : (503, "main loop stuck\n"),
                    "/readyz" => metrics.NotReadyReason is { } why ? (503, why + "\n") : (200, "ready\n"),
                    "/metrics" => (200, metrics.Render(deniedPackets())),
                    _ => (404, "/healthz, /readyz, /metrics\n"),
                };
                context.Response.StatusCode = status;
                context.Response.ContentType = "text/plain; version=0.0.4";
                byte[] bytes = Encoding.UTF8.GetBytes(body);
                context.Response.OutputStream.Write(bytes);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or Nftables.NftException)
            {
                context.Response.StatusCode = 500;
            }
            finally
            {
                context.Response.Close();
            }
        }
    }
}
