using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;
using CniEgress.CniPlugin.Ipam;
using CniEgress.CniPlugin.Ipam.Builtin;
using CniEgress.CniPlugin.Ipam.Delegated;
using CniEgress.State;

namespace CniEgress.CniPlugin.Verbs;

/// <summary>Everything one invocation knows: the environment, the parsed config and the raw
/// stdin (passed unchanged to a delegated IPAM plugin).</summary>
public sealed record CniContext(CniEnvironment Env, NetworkConfig Config, byte[] Stdin)
{
    public static readonly TimeSpan DelegateTimeout = TimeSpan.FromSeconds(30);

    public AttachmentStore Store { get; } = new(Config.StateDir);

    public IIpam Ipam() => Config.UsesBuiltinIpam
        ? new BuiltinIpamAdapter(Config, Env)
        : new DelegatedIpam(Config, Env, Stdin, new PluginExecutor(Env.PluginPaths, DelegateTimeout));
}
