using System.Runtime.InteropServices;

namespace CniEgress.Interop;

internal static unsafe partial class Syscalls
{
    public const int PollIn = 0x1, PollOut = 0x4;
    public const int SigKill = 9;

    // posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336 and sigset_t 128 in glibc (x86-64 and arm64).
    public const int SpawnFileActionsSize = 128, SpawnAttributesSize = 512, SignalSetSize = 128;

    // <spawn.h>
    public const short POSIX_SPAWN_SETPGROUP = 0x02, POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd(int fd, short events)
    {
        public int Fd = fd;
        public short Events = events;
        public short Revents;
    }

    /// <summary>posix_spawn(3) (<paramref name="searchPath"/>: posix_spawnp, the name looked up in
    /// PATH): 0 or the errno of the failed exec.</summary>
    public static int Spawn(out int pid, byte* file, void* fileActions, void* attributes, byte** argv, byte** envp, bool searchPath)
    {
        int child;
        int failed = searchPath ? posix_spawnp(&child, file, fileActions, attributes, argv, envp)
            : posix_spawn(&child, file, fileActions, attributes, argv, envp);
        pid = child;
        return failed;
    }

    [LibraryImport("libc.so.6")]
    private static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc.so.6")]
    private static partial int posix_spawnp(int* pid, byte* file, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_setpgroup(void* attributes, int processGroup);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_setsigdefault(void* attributes, void* signals);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_setsigmask(void* attributes, void* signals);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc.so.6")]
    public static partial int sigfillset(void* signals);

    [LibraryImport("libc.so.6")]
    public static partial int sigemptyset(void* signals);

    [LibraryImport("libc.so.6", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    /// <summary>O_NONBLOCK on one end of a pipe: 0 or errno.</summary>
    public static int SetNonBlocking(int fd) =>
        Tmds.Linux.LibC.fcntl(fd, Tmds.Linux.LibC.F_SETFL, Tmds.Linux.LibC.fcntl(fd, Tmds.Linux.LibC.F_GETFL, 0) | Tmds.Linux.LibC.O_NONBLOCK) == 0 ? 0 : Errno.Last;

    [LibraryImport("libc.so.6", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc.so.6", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc.so.6", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc.so.6")]
    public static partial int close(int fd);

    [LibraryImport("libc.so.6", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc.so.6")]
    public static partial int kill(int pid, int signal);
}
