using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;
using CniEgress.CniPlugin.Ipam.Builtin;
using CniEgress.State;

namespace CniEgress.CniPlugin.Ipam;

/// <summary>The built-in IPAM behind <see cref="IIpam"/>; its store is &lt;stateDir&gt;/ipam/&lt;network&gt;.</summary>
public sealed class BuiltinIpamAdapter(NetworkConfig config, CniEnvironment env) : IIpam
{
    private readonly Lazy<BuiltinIpam> ipam = new(() => new BuiltinIpam(ParseRanges(config), Path.Combine(config.StateDir, "ipam", config.Name)));

    public CniResult Add()
    {
        try
        {
            var addresses = Locked(() => ipam.Value.Allocate(env.ContainerId, env.IfName));
            return new CniResult([], addresses.Select(a => new CniIpConfig(a.Address, a.Gateway, null)).ToList(), [], null);
        }
        catch (IpamExhaustedException e)
        {
            throw new CniException(CniErrorCode.AddressesExhausted, e.Message);
        }
    }

    public void Del() => Locked(() => { ipam.Value.Release(env.ContainerId, env.IfName); return 0; });

    public void CollectGarbage(IReadOnlySet<AttachmentKey> valid, IReadOnlyList<AttachmentRecord> stale) =>
        Locked(() => ipam.Value.CollectGarbage(valid.Select(v => (v.ContainerId, v.IfName)).ToHashSet()));

    public void CheckAvailable()
    {
        if (!ipam.Value.HasFreeAddress())
            throw new CniException(CniErrorCode.PluginNotAvailable, $"no free address left in network {config.Name}");
    }

    private static IReadOnlyList<IpamRangeSet> ParseRanges(NetworkConfig config)
    {
        try
        {
            return IpamRangeConfigParser.Parse(config.Ipam);
        }
        catch (IpamConfigException e)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, e.Message);
        }
    }

    /// <summary>A lock held past its timeout means another plugin is stuck: the runtime should retry.</summary>
    private static T Locked<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (TimeoutException e)
        {
            throw new CniException(CniErrorCode.TryAgainLater, e.Message);
        }
    }
}
