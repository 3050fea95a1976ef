using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>List, then watch from the list's resourceVersion, resuming after a closed watch from
/// the last version seen (bookmarks included); relist when the server answers 410 Gone; back off
/// with jitter (0.5 s doubling to 30 s) on errors. Informer semantics without the client's own
/// informer machinery. After a failure the server counts as reachable again once a list succeeds
/// or the server answers a watch request.</summary>
internal sealed class Informer<T, TList>(
    string kind,
    Func<CancellationToken, Task<TList>> list,
    Func<string, CancellationToken, Task<HttpResponseMessage>> openWatch,
    Action<TList> replace,
    Action<bool, T> apply,
    Action changed,
    Action<string> log)
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IKubernetesObject<V1ListMeta>
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private volatile bool synced;
    private volatile string? failure;
    private long errors;

    public bool Synced => synced;

    /// <summary>Why the last call to the server failed, until a list or a watch succeeds again.</summary>
    public string? Failure => failure;

    /// <summary>Failed list and watch calls so far.</summary>
    public long Errors => Interlocked.Read(ref errors);

    public async Task RunAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.FromMilliseconds(500);
        string? version = null; // null: list (again) before watching
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (version == null)
                {
                    var listed = await list(stop).ConfigureAwait(false);
                    Reached();
                    replace(listed);
                    synced = true;
                    changed();
                    version = listed.Metadata?.ResourceVersion ?? "";
                }
                using (var opened = await openWatch(version, stop).ConfigureAwait(false))
                {
                    Reached();
                    await foreach (var (type, item) in WatchStream.ReadAsync<T>(opened, stop).ConfigureAwait(false))
                    {
                        version = item.Metadata?.ResourceVersion ?? version;
                        backoff = TimeSpan.FromMilliseconds(500);
                        if (type is "ADDED" or "MODIFIED" or "DELETED")
                        {
                            apply(type == "DELETED", item);
                            changed();
                        }
                    }
                }
                // The server ended the watch (its timeout): resume from the last version seen.
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (KubernetesException e) when (e.Status?.Code == 410)
            {
                log($"{kind}: watch from version {version} expired (410 Gone), listing again");
                version = null;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or KubernetesException or IOException or System.Text.Json.JsonException or TaskCanceledException)
            {
                var wait = backoff + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(backoff.TotalMilliseconds / 2) + 1));
                string next = version == null ? "listing again" : $"resuming the watch from version {version}";
                Interlocked.Increment(ref errors);
                failure = $"{kind}: {e.GetType().Name}: {FirstLine(e.Message)}";
                log($"{kind}: {e.GetType().Name}: {FirstLine(e.Message)}; {next} in {wait.TotalSeconds:0.0} s (enforcing the last known state meanwhile)");
                try { await Task.Delay(wait, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private void Reached()
    {
        if (failure == null) return;
        failure = null;
        log($"{kind}: the API server answers again");
    }

    private static string FirstLine(string message) => message.Split('\n')[0];
}
