namespace CniEgress.Tests.Infrastructure;

/// <summary>The sandbox node's own addresses (on its lo), which pods must be able to reach.</summary>
public static class NodeAddress
{
    public const string V4 = "198.51.100.1";
    public const string V6 = "2001:db8::1";

    public static void Ensure()
    {
        Sandbox.RequirePrivateNetworkNamespace();
        Shell.Ok("ip", "addr", "replace", V4 + "/32", "dev", "lo");
        Shell.Ok("ip", "addr", "replace", V6 + "/128", "dev", "lo");
    }
}
