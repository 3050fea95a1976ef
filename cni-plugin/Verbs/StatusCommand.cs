using CniEgress.CniPlugin.Cni;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>STATUS (1.1.0): containerd polls it every few seconds, so it must stay cheap: can we
/// write state, and could IPAM hand out an address right now.</summary>
public static class StatusCommand
{
    public static void Execute(CniContext context)
    {
        VersionGate.Require(context.Config.Version, CniVersion.V1_1_0, "STATUS");
        try
        {
            Directory.CreateDirectory(context.Store.Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.PluginNotAvailable, $"state directory {context.Store.Directory} is not writable: {e.Message}");
        }
        try
        {
            context.Ipam().CheckAvailable();
        }
        catch (CniException e) when (e.Code != CniErrorCode.PluginNotAvailable)
        {
            throw new CniException(CniErrorCode.PluginNotAvailable, e.Message);
        }
    }
}
