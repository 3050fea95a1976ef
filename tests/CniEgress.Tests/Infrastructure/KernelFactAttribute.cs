using Xunit;

namespace CniEgress.Tests.Infrastructure;

/// <summary>A test that touches the real kernel. It runs only inside the private namespace
/// made by scripts/sandbox.sh. Outside CI a developer without root sees it skipped; under
/// CI (CI=true) it always runs, so a missing privilege fails loudly instead of proving nothing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute()
    {
        if (!Sandbox.IsCi && !Sandbox.IsRoot)
            Skip = "kernel test: needs root inside scripts/sandbox.sh (runs under CI=true)";
    }
}

[AttributeUsage(AttributeTargets.Method)]
public sealed class KernelTheoryAttribute : TheoryAttribute
{
    public KernelTheoryAttribute()
    {
        if (!Sandbox.IsCi && !Sandbox.IsRoot)
            Skip = "kernel test: needs root inside scripts/sandbox.sh (runs under CI=true)";
    }
}

/// <summary>A kernel test that drives podman. Skipped, with the reason, only outside CI where
/// podman, runc or busybox-static are not installed; CI installs them, so there it always runs.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PodmanFactAttribute : FactAttribute
{
    public PodmanFactAttribute()
    {
        if (!Sandbox.IsCi && !Sandbox.IsRoot)
            Skip = "kernel test: needs root inside scripts/sandbox.sh (runs under CI=true)";
        else if (!Sandbox.IsCi && !PodmanHost.Available)
            Skip = "podman, runc or busybox-static missing: run scripts/install-deps.sh";
    }
}
