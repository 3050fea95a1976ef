using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using CniEgress.Interop;
using Tmds.Linux;
using static CniEgress.Interop.Syscalls;

namespace CniEgress.Processes;

/// <summary>The one place that starts child processes: bounded in time, stdin fed, both
/// outputs captured, the child (and what it started) killed by its process group when it
/// overstays.
/// A child is spawned the way libcni runs a plugin (Go's os/exec): posix_spawn, which glibc does
/// with a vfork-style clone, pipes drained by one poll loop, and waitpid, all on the calling
/// thread. .NET's Process brings a SIGCHLD-reaping thread, thread-pool readers and 0.7 MB of code
/// into the native-AOT plugin; without it an ADD that delegates to host-local takes 1.3 ms less
/// and 2.3 ms less CPU, and every call ~20 fewer page faults (docs/benchmarks.md).</summary>
public static unsafe class ProcessRunner
{
    public sealed record Outcome(int ExitCode, string Stdout, string Stderr);


    /// <param name="executable">A path, or a name looked up in PATH.</param>
    /// <exception cref="Win32Exception">The executable could not be started (its errno).</exception>
    /// <exception cref="TimeoutException">It ran longer than <paramref name="timeout"/> and was killed.</exception>
    public static Outcome Run(string executable, IReadOnlyList<string> arguments, ReadOnlySpan<byte> stdin,
        TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var strings = new NativeStrings();
        byte* file = strings.Add(executable);
        byte** argv = strings.Array([executable, .. arguments]);
        byte** envp = strings.Array(Environment(environment));

        int* input = stackalloc int[2], output = stackalloc int[2], errors = stackalloc int[2];
        Pipes(input, output, errors);
        int pid = Start(executable, file, argv, envp, input, output, errors);
        var stdout = new List<byte>();
        var stderr = new List<byte>();
        Exchange(input[1], output[0], errors[0], stdin, stdout, stderr, pid, timeout, executable);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR) { }
        int signal = status & 0x7f;
        int exitCode = signal == 0 ? (status >> 8) & 0xff : 128 + signal;
        return new Outcome(exitCode, Encoding.UTF8.GetString([.. stdout]), Encoding.UTF8.GetString([.. stderr]));
    }

    /// <summary>The child in a process group of its own (so a timeout ends its children too), with
    /// default signal handling and no blocked signals, whatever this runtime set for itself.</summary>
    private static int Start(string executable, byte* file, byte** argv, byte** envp, int* input, int* output, int* errors)
    {
        byte* actions = stackalloc byte[SpawnFileActionsSize];
        byte* attributes = stackalloc byte[SpawnAttributesSize];
        sigset_t allSignals, noSignals;
        _ = posix_spawn_file_actions_init(actions);
        _ = posix_spawnattr_init(attributes);
        try
        {
            _ = posix_spawn_file_actions_adddup2(actions, input[0], 0);
            _ = posix_spawn_file_actions_adddup2(actions, output[1], 1);
            _ = posix_spawn_file_actions_adddup2(actions, errors[1], 2);
            _ = LibC.sigfillset(&allSignals);
            _ = LibC.sigemptyset(&noSignals);
            _ = posix_spawnattr_setflags(attributes, (short)(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
            _ = posix_spawnattr_setpgroup(attributes, 0);
            _ = posix_spawnattr_setsigdefault(attributes, &allSignals);
            _ = posix_spawnattr_setsigmask(attributes, &noSignals);
            int failed = Spawn(out int pid, file, actions, attributes, argv, envp, searchPath: !executable.Contains('/', StringComparison.Ordinal));
            if (failed != 0)
            {
                _ = LibC.close(input[1]);
                _ = LibC.close(output[0]);
                _ = LibC.close(errors[0]);
                throw new Win32Exception(failed, $"could not start {executable}: {Marshal.GetPInvokeErrorMessage(failed)}");
            }
            return pid;
        }
        finally
        {
            _ = posix_spawn_file_actions_destroy(actions);
            _ = posix_spawnattr_destroy(attributes);
            _ = LibC.close(input[0]);
            _ = LibC.close(output[1]);
            _ = LibC.close(errors[1]);
        }
    }

    /// <summary>Feeds stdin and drains both outputs until the child closes them; past the timeout,
    /// kills its process group and reaps it.</summary>
    private static void Exchange(int toChild, int fromStdout, int fromStderr, ReadOnlySpan<byte> stdin,
        List<byte> stdout, List<byte> stderr, int pid, TimeSpan timeout, string executable)
    {
        var clock = Stopwatch.StartNew();
        Span<pollfd> fds = [Watch(toChild, LibC.POLLOUT), Watch(fromStdout, LibC.POLLIN), Watch(fromStderr, LibC.POLLIN)];
        if (stdin.IsEmpty) CloseAt(fds, 0);
        int written = 0;
        byte* buffer = stackalloc byte[16384];
        while (fds[1].fd >= 0 || fds[2].fd >= 0)
        {
            int left = (int)Math.Ceiling((timeout - clock.Elapsed).TotalMilliseconds);
            if (left <= 0)
            {
                Abandon(fds, pid);
                throw new TimeoutException($"{Path.GetFileName(executable)} did not finish within {timeout.TotalSeconds:0.#}s");
            }
            int ready;
            fixed (pollfd* p = fds) ready = LibC.poll(p, (ulong_t)(ulong)fds.Length, left);
            if (ready < 0 && Errno.Last is var error && error != LibC.EINTR)
            {
                Abandon(fds, pid);
                throw new IOException($"poll: {Marshal.GetPInvokeErrorMessage(error)}");
            }
            if (ready <= 0) continue;
            if (fds[0].fd >= 0 && fds[0].revents != 0)
            {
                long n = -1;
                if ((fds[0].revents & LibC.POLLOUT) != 0)
                    fixed (byte* data = stdin) n = LibC.write(toChild, data + written, stdin.Length - written);
                if (n > 0) written += (int)n;
                // All written, or the child stopped reading: its exit code tells the story.
                if ((n < 0 && Errno.Last != LibC.EINTR && Errno.Last != LibC.EAGAIN) || written == stdin.Length) CloseAt(fds, 0);
            }
            for (int k = 1; k <= 2; k++)
            {
                if (fds[k].fd < 0 || fds[k].revents == 0) continue;
                long n = LibC.read(fds[k].fd, buffer, 16384);
                if (n > 0) (k == 1 ? stdout : stderr).AddRange(new ReadOnlySpan<byte>(buffer, (int)n));
                else if (n == 0 || Errno.Last != LibC.EINTR) CloseAt(fds, k);
            }
        }
        CloseAt(fds, 0);
    }

    /// <summary>Kills the child's process group, closes our pipe ends and reaps the child.</summary>
    private static void Abandon(Span<pollfd> fds, int pid)
    {
        _ = LibC.kill(-pid, LibC.SIGKILL);
        for (int k = 0; k < fds.Length; k++) CloseAt(fds, k);
        _ = waitpid(pid, null, 0);
    }

    private static void CloseAt(Span<pollfd> fds, int index)
    {
        if (fds[index].fd < 0) return;
        _ = LibC.close(fds[index].fd);
        fds[index].fd = -1;
    }

    private static pollfd Watch(int fd, short events) => new() { fd = fd, events = events };

    /// <summary>The child's stdin, stdout and stderr pipes, all or none (out of descriptors: an
    /// IOException and nothing left open). Our end of stdin never blocks: the child may be writing
    /// its output meanwhile, and only our poll loop drains it.</summary>
    private static void Pipes(int* input, int* output, int* errors)
    {
        input[0] = input[1] = output[0] = output[1] = errors[0] = errors[1] = -1;
        int error = LibC.pipe2(input, LibC.O_CLOEXEC) != 0 || LibC.pipe2(output, LibC.O_CLOEXEC) != 0 || LibC.pipe2(errors, LibC.O_CLOEXEC) != 0
            || LibC.fcntl(input[1], LibC.F_SETFL, LibC.O_NONBLOCK) != 0 ? Errno.Last : 0;
        if (error == 0) return;
        foreach (int fd in new[] { input[0], input[1], output[0], output[1], errors[0], errors[1] })
            if (fd >= 0) _ = LibC.close(fd);
        throw new IOException($"pipes for a child process: {Marshal.GetPInvokeErrorMessage(error)}");
    }

    /// <summary>This process's environment with <paramref name="overrides"/> applied, as KEY=VALUE.</summary>
    private static List<string> Environment(IReadOnlyDictionary<string, string>? overrides)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            variables[(string)e.Key] = (string?)e.Value ?? "";
        if (overrides != null)
            foreach (var (key, value) in overrides) variables[key] = value;
        return [.. variables.Select(kv => kv.Key + "=" + kv.Value)];
    }

    /// <summary>NUL-terminated UTF-8 copies and NULL-terminated arrays of them, freed together.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly List<nint> allocations = [];

        public byte* Add(string value)
        {
            int length = Encoding.UTF8.GetByteCount(value);
            byte* copy = (byte*)NativeMemory.Alloc((nuint)length + 1);
            allocations.Add((nint)copy);
            Encoding.UTF8.GetBytes(value, new Span<byte>(copy, length));
            copy[length] = 0;
            return copy;
        }

        public byte** Array(IReadOnlyList<string> values)
        {
            byte** array = (byte**)NativeMemory.Alloc((nuint)(values.Count + 1), (nuint)sizeof(nint));
            allocations.Add((nint)array);
            for (int i = 0; i < values.Count; i++) array[i] = Add(values[i]);
            array[values.Count] = null;
            return array;
        }

        public void Dispose()
        {
            foreach (nint allocation in allocations) NativeMemory.Free((void*)allocation);
        }
    }
}
