using CniEgress.CniPlugin.Cni;
using CniEgress.Netns;

namespace CniEgress.CniPlugin.Verbs;

public static class NamespaceOpener
{
    /// <summary>CNI_NETNS that does not exist is an unknown container (3); one that is not a
    /// network namespace is a bad environment (4).</summary>
    public static NetworkNamespace Open(string path)
    {
        try
        {
            return NetworkNamespace.Open(path);
        }
        catch (NetworkNamespaceNotFoundException)
        {
            throw new CniException(CniErrorCode.ContainerUnknown, $"CNI_NETNS {path} does not exist");
        }
        catch (NotANetworkNamespaceException)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_NETNS {path} is not a network namespace");
        }
    }
}
