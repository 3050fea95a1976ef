// Linked into cni-egress only (CniEgress.CniPlugin.csproj: -Wl,--wrap=fopen64).
//
// At start, the .NET runtime and its GC each look for the process's cgroup to learn its memory
// and CPU limits, and each scans /proc/self/mountinfo for the cgroup mounts. The kernel renders
// that file line by line, and a Kubernetes node has a netns bind mount per pod and several more
// per container, so every CNI call paid for every mount on the node (~1.3 ms per call with 500
// mounts on the development VM). The plugin lives for a few milliseconds and allocates a few MB:
// neither limit matters to it. Failing exactly that fopen makes both scans find no cgroup mount,
// which the runtime handles as a machine without cgroups; every other fopen goes to libc
// unchanged. Nothing in the plugin reads mount tables itself (no DriveInfo).
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

FILE *__real_fopen64(const char *path, const char *mode);

FILE *__wrap_fopen64(const char *path, const char *mode)
{
    if (path != NULL && strcmp(path, "/proc/self/mountinfo") == 0)
    {
        errno = ENOENT;
        return NULL;
    }
    return __real_fopen64(path, mode);
}
