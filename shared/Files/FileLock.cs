using CniEgress.Interop;

namespace CniEgress.Files;

/// <summary>An exclusive lock on a lock file, held until disposed: flock(LOCK_EX), which belongs
/// to the open file description and dies with the process, so a killed plugin never leaves one
/// behind.</summary>
public sealed class FileLock : IDisposable
{
    private readonly FileDescriptorHandle handle;

    private FileLock(FileDescriptorHandle handle) => this.handle = handle;

    /// <summary>Waits at most <paramref name="timeout"/>; throws TimeoutException after that.</summary>
    /// <exception cref="IOException">the lock file cannot be opened (its folder is missing, say).</exception>
    public static FileLock Acquire(string path, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        int delayMs = 1;
        while (true)
        {
            if (SmallFile.TryLock(path) is { } handle) return new FileLock(handle);
            if (Environment.TickCount64 >= deadline)
                throw new TimeoutException($"lock {path} is still held after {timeout.TotalSeconds:0.#}s");
            Thread.Sleep(delayMs);
            delayMs = Math.Min(delayMs * 2, 10);
        }
    }

    public void Dispose() => handle.Dispose(); // closing the last fd releases the lock
}
