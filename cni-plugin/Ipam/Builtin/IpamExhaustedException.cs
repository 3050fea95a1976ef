namespace CniEgress.CniPlugin.Ipam.Builtin;

public sealed class IpamExhaustedException(string message) : Exception(message);
