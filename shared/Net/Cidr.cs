using System.Net;

namespace CniEgress.Net;

public static class Cidr
{
    /// <summary>Parses "10.244.0.0/16" and refuses host bits ("10.0.0.1/8"): a CIDR with stray
    /// host bits is almost always a typo, and silently masking it would widen or move a range.</summary>
    public static bool TryParseStrict(string? text, out IPNetwork network)
    {
        network = default;
        if (!InterfaceAddress.TryParse(text, out var address)) return false;
        network = address.Network;
        return network.BaseAddress.Equals(address.Address);
    }
}
