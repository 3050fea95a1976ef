using Tmds.Linux;

namespace CniEgress.Interop;

internal static unsafe partial class Syscalls
{
    // NS_GET_NSTYPE = _IO(NSIO 0xb7, 0x3) from <linux/nsfs.h>; answers which kind of
    // namespace an nsfs file is (Linux 4.11+), and ENOTTY for any other file.
    private const int NS_GET_NSTYPE = 0xb703;

    /// <summary>The CLONE_NEW* type of a namespace file, or -1 with <paramref name="errno"/>.</summary>
    public static int GetNamespaceType(int fd, out int errno)
    {
        int type = LibC.ioctl(fd, NS_GET_NSTYPE);
        errno = type < 0 ? Errno.Last : 0;
        return type;
    }

    public static int CloneNewNet => LibC.CLONE_NEWNET;

    /// <summary>setns(fd, CLONE_NEWNET) for the calling OS thread only; 0 or errno.</summary>
    public static int SetNetworkNamespace(int fd) =>
        LibC.setns(fd, LibC.CLONE_NEWNET) == 0 ? 0 : Errno.Last;
}
