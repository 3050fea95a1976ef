namespace CniEgress.Files;

/// <summary>An exclusive lock on a lock file, held until disposed. On Linux, .NET opens a file
/// with FileShare.None under flock(LOCK_EX|LOCK_NB); flock locks belong to the open file
/// description and die with the process, so a killed plugin never leaves one behind.</summary>
public sealed class FileLock : IDisposable
{
    private readonly FileStream stream;

    private FileLock(FileStream stream) => this.stream = stream;

    /// <summary>Waits at most <paramref name="timeout"/>; throws TimeoutException after that.</summary>
    public static FileLock Acquire(string path, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        int delayMs = 1;
        while (true)
        {
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1));
            }
            catch (IOException) when (File.Exists(path) && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(delayMs);
                delayMs = Math.Min(delayMs * 2, 10);
            }
            catch (IOException e) when (File.Exists(path))
            {
                throw new TimeoutException($"lock {path} is still held after {timeout.TotalSeconds:0.#}s", e);
            }
        }
    }

    public void Dispose() => stream.Dispose(); // closing the last fd releases the lock
}
