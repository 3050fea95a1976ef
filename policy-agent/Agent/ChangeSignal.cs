using System.Diagnostics;

namespace CniEgress.PolicyAgent.Agent;

/// <summary>Wakes the main loop when a source, the attachment folder or a CNI ADD has something
/// new, and remembers when the oldest change not yet read arrived, for the event-to-enforced
/// latency. A monitor, not a SemaphoreSlim: a SemaphoreSlim spins (sched_yield) before it
/// blocks, on every wait of the debounce loop, and on a 2-core node that spinning took the CPU
/// from the CNI plugin whose ADD the agent had just answered (13% of the agent's CPU).</summary>
public sealed class ChangeSignal : IDisposable
{
    private readonly object gate = new();
    private int raised; // raises not yet taken by Wait or Drain
    private long pendingSince; // Stopwatch timestamp of the oldest unread change; 0: none

    public void Raise()
    {
        Interlocked.CompareExchange(ref pendingSince, Stopwatch.GetTimestamp(), 0);
        Signal();
    }

    /// <summary>Wakes the loop for something that is not a change (a CLI question): no pending change, no latency.</summary>
    public void Wake() => Signal();

    private void Signal()
    {
        lock (gate)
        {
            raised++;
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>Some change has not been read yet.</summary>
    public bool Pending => Interlocked.Read(ref pendingSince) != 0;

    /// <summary>True when raised within <paramref name="timeout"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="stop"/> was cancelled.</exception>
    public bool Wait(TimeSpan timeout, CancellationToken stop)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        using var wakeOnStop = stop.Register(Signal);
        lock (gate)
        {
            while (true)
            {
                stop.ThrowIfCancellationRequested();
                if (raised > 0)
                {
                    raised--;
                    return true;
                }
                var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero) return false;
                Monitor.Wait(gate, remaining);
            }
        }
    }

    /// <summary>Forgets the raises so far (they are about to be read).</summary>
    public void Drain()
    {
        lock (gate) raised = 0;
    }

    /// <summary>How long the oldest unread change has waited, and forgets it: the caller is about
    /// to read everything up to now. Null when nothing was raised.</summary>
    public TimeSpan? TakePending()
    {
        long since = Interlocked.Exchange(ref pendingSince, 0);
        return since == 0 ? null : Stopwatch.GetElapsedTime(since);
    }

    public void Dispose() { }
}
