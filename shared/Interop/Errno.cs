using System.Runtime.InteropServices;
using Tmds.Linux;

namespace CniEgress.Interop;

/// <summary>errno values and their text. Tmds.LibC captures errno right after each call
/// (SetLastError), so reading it later cannot see a value clobbered by the runtime.</summary>
internal static class Errno
{
    public static int ENOENT => LibC.ENOENT;
    public static int ENOTDIR => LibC.ENOTDIR;
    public static int ENODEV => LibC.ENODEV;
    public static int ESRCH => LibC.ESRCH;
    public static int EEXIST => LibC.EEXIST;
    public static int EINTR => LibC.EINTR;
    public static int EAGAIN => LibC.EAGAIN;
    public static int EAFNOSUPPORT => LibC.EAFNOSUPPORT;
    public static int ETIMEDOUT => LibC.ETIMEDOUT;
    public static int ENOTTY => 25;
    public static int EINVAL => 22;
    public static int EMSGSIZE => 90;
    public static int EBADMSG => 74;
    public static int ENOPROTOOPT => 92;
    public static int ENOBUFS => 105;
    public static int ENAMETOOLONG => 36;
    public static int ENETUNREACH => 101;

    /// <summary>The errno of the last Tmds.LibC call made on this thread.</summary>
    public static int Last => LibC.errno;

    /// <summary>strerror text, e.g. "No such file or directory".</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
