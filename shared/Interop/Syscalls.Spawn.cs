using System.Runtime.InteropServices;

namespace CniEgress.Interop;

internal static unsafe partial class Syscalls
{
    // posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336 in glibc (x86-64 and arm64).
    // Not in Tmds.LibC, like waitpid; pipes, poll, read, write, close and kill are.
    public const int SpawnFileActionsSize = 128, SpawnAttributesSize = 512;

    // <spawn.h>
    public const short POSIX_SPAWN_SETPGROUP = 0x02, POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;

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
    public static partial int posix_spawnattr_setsigdefault(void* attributes, Tmds.Linux.sigset_t* signals);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_setsigmask(void* attributes, Tmds.Linux.sigset_t* signals);

    [LibraryImport("libc.so.6")]
    public static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport("libc.so.6", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);
}
