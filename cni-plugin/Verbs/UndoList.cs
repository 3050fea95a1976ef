namespace CniEgress.CniPlugin.Verbs;

/// <summary>Explicit rollback for ADD: every step that changed something registers its inverse;
/// unless <see cref="Commit"/> is reached, Dispose runs them newest first. (The reference ptp
/// rolls back through a captured error variable that a later `if err :=` shadows, leaking IPs.)</summary>
public sealed class UndoList : IDisposable
{
    private readonly Stack<(string What, Action Undo)> steps = new();
    private bool committed;

    public void Add(string what, Action undo) => steps.Push((what, undo));

    public void Commit() => committed = true;

    public void Dispose()
    {
        if (committed) return;
        while (steps.TryPop(out var step))
        {
            try
            {
                step.Undo();
            }
            catch (Exception e)
            {
                // Keep undoing the rest; the original failure is what the runtime must see.
                PluginLog.Current?.Write($"rollback of {step.What} failed: {e.Message}");
            }
        }
    }
}
