using System.Diagnostics;
using CniEgress.PolicyAgent.Agent;
using Xunit;

namespace CniEgress.Tests.Agent;

public class ChangeSignalTests
{
    [Fact]
    public void A_raise_wakes_one_wait_and_drain_forgets_the_rest()
    {
        using var signal = new ChangeSignal();
        Assert.False(signal.Wait(TimeSpan.FromMilliseconds(30), CancellationToken.None));

        var raiser = new Thread(() => { Thread.Sleep(50); signal.Raise(); });
        var clock = Stopwatch.StartNew();
        raiser.Start();
        Assert.True(signal.Wait(TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        raiser.Join();
        Assert.True(signal.Pending);
        Assert.NotNull(signal.TakePending());
        Assert.False(signal.Pending);

        signal.Raise();
        signal.Wake();
        signal.Drain();
        Assert.False(signal.Wait(TimeSpan.Zero, CancellationToken.None));
    }

    [Fact]
    public void Stopping_ends_a_wait_at_once()
    {
        using var signal = new ChangeSignal();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var clock = Stopwatch.StartNew();
        Assert.Throws<OperationCanceledException>(() => signal.Wait(TimeSpan.FromSeconds(30), stop.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }
}
