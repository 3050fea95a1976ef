using CniEgress.CniPlugin.Cni;

namespace CniEgress.CniPlugin.Verbs;

public static class VersionGate
{
    /// <summary>Verbs newer than the config's version are refused with code 1, as libcni's skel does.</summary>
    public static void Require(CniVersion actual, CniVersion minimum, string verb)
    {
        if (actual < minimum)
            throw new CniException(CniErrorCode.IncompatibleVersion, $"{verb} needs cniVersion {minimum} or later; the config says {actual}");
    }
}
