using CniEgress.CniPlugin.Cni;
using CniEgress.State;

namespace CniEgress.CniPlugin.Ipam;

/// <summary>Address management for one attachment, either in-process or by exec'ing an IPAM
/// plugin as SPEC.md "Delegated plugins" describes.</summary>
public interface IIpam
{
    /// <summary>Reserves this attachment's addresses; idempotent for the same container and ifname.</summary>
    CniResult Add();

    /// <summary>Releases this attachment's addresses; succeeds when there is nothing to release.</summary>
    void Del();

    /// <summary>Releases every address that belongs to none of <paramref name="valid"/>.
    /// <paramref name="stale"/> are our own records of attachments that are no longer valid.</summary>
    void CollectGarbage(IReadOnlySet<Config.AttachmentKey> valid, IReadOnlyList<AttachmentRecord> stale);

    /// <summary>Throws a CniException with code 50 when an ADD could not get an address now.</summary>
    void CheckAvailable();
}
