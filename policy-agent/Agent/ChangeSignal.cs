using System.Diagnostics;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>Wakes the main loop when a source, the attachment folder or a CNI ADD has something
/// new, and remembers when the oldest change not yet read arrived, for the event-to-enforced
/// latency.</summary>
public sealed class ChangeSignal : IDisposable
{
    private readonly SemaphoreSlim semaphore = new(0);
    private long pendingSince; // Stopwatch timestamp of the oldest unread change; 0: none

    public void Raise()
    {
        Interlocked.CompareExchange(ref pendingSince, Stopwatch.GetTimestamp(), 0);
        semaphore.Release();
    }

    /// <summary>Wakes the loop for something that is not a change (a CLI question): no pending change, no latency.</summary>
    public void Wake() => semaphore.Release();

    /// <summary>Some change has not been read yet.</summary>
    public bool Pending => Interlocked.Read(ref pendingSince) != 0;

    /// <summary>True when raised within <paramref name="timeout"/>.</summary>
    public bool Wait(TimeSpan timeout, CancellationToken stop) => semaphore.Wait(timeout, stop);

    /// <summary>Forgets the raises so far (they are about to be read).</summary>
    public void Drain()
    {
        while (semaphore.CurrentCount > 0) semaphore.Wait(0, CancellationToken.None);
    }

    /// <summary>How long the oldest unread change has waited, and forgets it: the caller is about
    /// to read everything up to now. Null when nothing was raised.</summary>
    public TimeSpan? TakePending()
    {
        long since = Interlocked.Exchange(ref pendingSince, 0);
        return since == 0 ? null : Stopwatch.GetElapsedTime(since);
    }

    public void Dispose() => semaphore.Dispose();
}
