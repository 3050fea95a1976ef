// Linked into cni-egress only (CniEgress.CniPlugin.csproj: -Wl,--wrap=pthread_create).
//
// The .NET runtime starts a finalizer thread before Main. A CNI call never needs it: the plugin
// disposes what it opens, and whatever is left the kernel closes at exit. Yet every call paid for
// starting it: a clone, an 8 MB stack mapping, a malloc arena, and the thread attaching itself to
// the runtime on the other core while the call starts up (on the development VM 21 of the 101 page
// faults of VERSION and ~0.2-0.6 ms of CPU per call; docs/benchmarks.md).
//
// Declining exactly that pthread_create leaves finalizable objects queued until the process exits.
// The thread is recognised by its start routine, the runtime's own FinalizerStart: a runtime that
// renames it fails to link instead of having some other thread declined. Waiting for finalizers
// would now never return, so the build fails if the binary contains GC.WaitForPendingFinalizers
// (target CheckNoFinalizerWait). Every other thread (the plugin's own) is created as usual.
#include <pthread.h>
#include <stdint.h>

uint32_t runtime_finalizer_start(void *context) __asm__("_Z14FinalizerStartPv");

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*start)(void *), void *argument);

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*start)(void *), void *argument)
{
    if ((void *)start == (void *)runtime_finalizer_start)
    {
        // The runtime creates it detached and never uses the id.
        *thread = 0;
        return 0;
    }
    return __real_pthread_create(thread, attributes, start, argument);
}
