using System.Net;
using CniEgress.Net;

namespace CniEgress.CniPlugin.Ipam.Builtin;

/// <summary>An address with its subnet's prefix length, and the range's gateway.</summary>
public sealed record AllocatedAddress(InterfaceAddress Address, IPAddress Gateway);
