namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>A bad ipam section; the message names the key path and value.</summary>
public sealed class IpamConfigException(string message) : Exception(message);
