using System.Runtime.ExceptionServices;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>One piece of work on a dedicated thread (not the thread pool, whose start-up a
/// short-lived plugin would pay for), whose failure is rethrown by <see cref="Wait"/>. Disposing
/// without waiting still joins the thread, so no work outlives the verb.</summary>
public sealed class BackgroundWork : IDisposable
{
    private readonly Thread thread;
    private ExceptionDispatchInfo? failure;
    private bool joined;

    private BackgroundWork(Action work)
    {
        thread = new Thread(() =>
        {
            try { work(); }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
        }, maxStackSize: 256 * 1024) { IsBackground = true };
        thread.Start();
    }

    public static BackgroundWork Start(Action work) => new(work);

    public void Wait()
    {
        Join();
        failure?.Throw();
    }

    public void Dispose() => Join();

    private void Join()
    {
        if (joined) return;
        thread.Join();
        joined = true;
    }
}
