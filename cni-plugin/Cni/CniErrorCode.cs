namespace CniEgress.CniPlugin.Cni;

/// <summary>Error codes: 1-99 are the spec's (SPEC.md "Error"), 100+ are ours.</summary>
public static class CniErrorCode
{
    public const int IncompatibleVersion = 1;
    public const int UnsupportedField = 2;
    public const int ContainerUnknown = 3;
    public const int InvalidEnvironment = 4;
    public const int IoFailure = 5;
    public const int DecodeFailure = 6;
    public const int InvalidNetworkConfig = 7;
    public const int TryAgainLater = 11;
    public const int PluginNotAvailable = 50;
    public const int PluginNotAvailableExistingDisrupted = 51;

    /// <summary>The kernel refused a netlink or nftables request.</summary>
    public const int KernelFailure = 100;
    /// <summary>No free address is left in a range.</summary>
    public const int AddressesExhausted = 101;
    /// <summary>CNI_IFNAME already exists in the container's namespace.</summary>
    public const int InterfaceExists = 102;
    /// <summary>CHECK found the attachment differs from prevResult.</summary>
    public const int CheckMismatch = 103;
    /// <summary>The delegated IPAM plugin failed without a CNI error of its own.</summary>
    public const int IpamPluginFailed = 104;
    /// <summary>Anything we did not foresee; the message still names the operation.</summary>
    public const int Internal = 199;
}
