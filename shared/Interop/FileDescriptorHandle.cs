using System.Runtime.InteropServices;
using Tmds.Linux;

namespace CniEgress.Interop;

/// <summary>Owns one file descriptor (a netlink socket, a namespace file) and closes it exactly
/// once, also when the owner is finalized without Dispose.</summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    public FileDescriptorHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw descriptor; callers keep this object alive (or hold a ref) while using it.</summary>
    public int Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return handle.ToInt32();
        }
    }

    // close(2) is not retried on EINTR: on Linux the descriptor is released either way.
    protected override bool ReleaseHandle() => LibC.close(handle.ToInt32()) == 0;
}
