using System.Text;
using CniEgress.Files;
using Xunit;

namespace CniEgress.Tests.Files;

/// <summary>The raw-syscall file helpers the plugin's state rests on (records, IPAM claims, locks).</summary>
public sealed class SmallFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("smallfile").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void A_missing_file_reads_as_null_and_a_written_one_reads_back_whole()
    {
        string path = Path.Combine(folder, "record");
        Assert.Null(SmallFile.TryReadAll(path));

        var large = Encoding.ASCII.GetBytes(new string('x', 5000)); // beyond the first read buffer
        SmallFile.Write(path, large);
        Assert.Equal(large, SmallFile.TryReadAll(path));

        SmallFile.Write(path, "short"u8);
        Assert.Equal("short", File.ReadAllText(path)); // truncated, not overwritten in place
    }

    [Fact]
    public void Atomic_writes_replace_the_file_and_leave_no_temporary_behind()
    {
        string path = Path.Combine(folder, "claim");
        AtomicFile.WriteAllBytes(path, "first"u8);
        AtomicFile.WriteAllBytes(path, "second"u8);
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Equal(["claim"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Failures_are_IOExceptions_that_name_the_path()
    {
        string missingFolder = Path.Combine(folder, "gone", "record");
        var write = Assert.Throws<IOException>(() => SmallFile.Write(missingFolder, "x"u8));
        Assert.Contains(missingFolder, write.Message, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", write.Message, StringComparison.Ordinal);
        var rename = Assert.Throws<IOException>(() => SmallFile.Rename(Path.Combine(folder, "nothing"), Path.Combine(folder, "other")));
        Assert.Contains("nothing", rename.Message, StringComparison.Ordinal);
        Assert.Throws<IOException>(() => AtomicFile.WriteAllBytes(missingFolder, "x"u8));
    }

    [Fact]
    public void A_held_lock_makes_the_next_acquire_time_out_until_it_is_released()
    {
        string path = Path.Combine(folder, "lock");
        using (FileLock.Acquire(path, TimeSpan.FromSeconds(1)))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var timeout = Assert.Throws<TimeoutException>(() => FileLock.Acquire(path, TimeSpan.FromMilliseconds(100)));
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(80), $"gave up after {clock.Elapsed.TotalMilliseconds} ms, not waiting"); // TickCount64 is coarser than the Stopwatch
            Assert.Contains(path, timeout.Message, StringComparison.Ordinal);
        }
        using var again = FileLock.Acquire(path, TimeSpan.FromMilliseconds(100));
    }
}
