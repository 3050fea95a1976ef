using System.CommandLine;
using System.Runtime.InteropServices;

namespace CniEgress.PolicyAgent.Cli;

/// <summary>`--count` and `--duration` of the commands that watch until told to stop (flows, capture).</summary>
public sealed class WatchBounds(string counted)
{
    private readonly Option<int?> count = new("--count", "-c") { Description = $"stop after this many {counted}" };
    private readonly Option<double?> duration = new("--duration", "-d") { Description = "stop after this many seconds" };

    public void AddTo(Command command)
    {
        command.Options.Add(count);
        command.Options.Add(duration);
        command.Validators.Add(result =>
        {
            if (result.GetResult(count) != null && result.GetValue(count) is not > 0) result.AddError("--count must be at least 1");
            if (result.GetResult(duration) != null && result.GetValue(duration) is not > 0) result.AddError("--duration must be more than 0 seconds");
        });
    }

    /// <summary>The watch's stop, armed now (Ctrl-C and SIGTERM end it too).</summary>
    public WatchLimit Start(ParseResult parsed) =>
        new(parsed.GetValue(count), parsed.GetValue(duration) is { } seconds ? TimeSpan.FromSeconds(seconds) : null);
}

/// <summary>When a watch ends: its count reached, its time up, or Ctrl-C / SIGTERM. <see cref="Counted"/>
/// is not thread safe: callers count under their own lock.</summary>
public sealed class WatchLimit : IDisposable
{
    private readonly ManualResetEventSlim done = new();
    private readonly PosixSignalRegistration interrupt, term;
    private readonly int? count;
    private readonly TimeSpan? duration;

    public WatchLimit(int? count, TimeSpan? duration)
    {
        (this.count, this.duration) = (count, duration);
        interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; done.Set(); });
        term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; done.Set(); });
    }

    public bool IsDone => done.IsSet;

    /// <summary>How many were counted.</summary>
    public int Seen { get; private set; }

    public void Counted()
    {
        Seen++;
        if (Seen >= count) done.Set();
    }

    /// <summary>Blocks until the watch ends.</summary>
    public void Wait() => done.Wait(duration ?? Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        interrupt.Dispose();
        term.Dispose();
        done.Dispose();
    }
}
