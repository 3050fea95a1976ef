using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>List, then watch from the list's resourceVersion, resuming after a closed watch from
/// the last version seen (bookmarks included); relist when the server answers 410 Gone; back off
/// with jitter (0.5 s doubling to 30 s) on errors. Informer semantics without the client's own
/// informer machinery. After a failure the server counts as reachable again once a list succeeds
/// or a watch stays open for a second (a refused or broken connection fails at once).</summary>
internal sealed class Informer<T, TList>(
    string kind,
    Func<CancellationToken, Task<TList>> list,
    Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
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
    private readonly Lock health = new();

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
                    Reached(Errors);
                    replace(listed);
                    synced = true;
                    changed();
                    version = listed.Metadata?.ResourceVersion ?? "";
                }
                Exception? watchFailure = null;
                long errorsBefore = Errors;
                using (new Timer(_ => Reached(errorsBefore), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan))
                {
                    await foreach (var (type, item) in watch(version, e => watchFailure = e, stop).ConfigureAwait(false))
                    {
                        version = item.Metadata?.ResourceVersion ?? version;
                        backoff = TimeSpan.FromMilliseconds(500);
                        if (type == WatchEventType.Bookmark) continue;
                        if (type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted)
                        {
                            apply(type == WatchEventType.Deleted, item);
                            changed();
                        }
                    }
                }
                if (watchFailure is KubernetesException { Status.Code: 410 })
                {
                    log($"{kind}: watch from version {version} expired (410 Gone), listing again");
                    version = null;
                    continue;
                }
                if (watchFailure != null) throw watchFailure;
                // The server ended the watch (its timeout): resume from the last version seen.
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or KubernetesException or IOException or System.Text.Json.JsonException or TaskCanceledException)
            {
                var wait = backoff + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(backoff.TotalMilliseconds / 2) + 1));
                string next = version == null ? "listing again" : $"resuming the watch from version {version}";
                lock (health)
                {
                    Interlocked.Increment(ref errors);
                    failure = $"{kind}: {e.GetType().Name}: {FirstLine(e.Message)}";
                }
                log($"{kind}: {e.GetType().Name}: {FirstLine(e.Message)}; {next} in {wait.TotalSeconds:0.0} s (enforcing the last known state meanwhile)");
                try { await Task.Delay(wait, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    /// <param name="errorsBefore">The error count when the call began: a call that failed since then proves nothing.</param>
    private void Reached(long errorsBefore)
    {
        lock (health)
        {
            if (failure == null || Errors != errorsBefore) return;
            failure = null;
        }
        log($"{kind}: the API server answers again");
    }

    private static string FirstLine(string message) => message.Split('\n')[0];
}
