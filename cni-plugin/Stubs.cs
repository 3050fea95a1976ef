#pragma warning disable CA1822, CS9113, CA1725
using CniEgress.CniPlugin.Ipam;
// TEMPORARY: replaced by the netlink and ipam branches
using System.Net; using System.Net.NetworkInformation; using System.Net.Sockets; using CniEgress.Net;
namespace CniEgress.Netns { public sealed class NetworkNamespace : IDisposable { public static NetworkNamespace Open(string p) => throw new NotImplementedException(); public string Path => ""; public CniEgress.Netlink.Route.RouteNetlinkClient OpenRouteClient() => throw new NotImplementedException(); public void Dispose() {} }
 public sealed class NetworkNamespaceNotFoundException : Exception {} public sealed class NotANetworkNamespaceException : Exception {} }
namespace CniEgress.Netlink { public class NetlinkNotFoundException : Exception {} }
namespace CniEgress.Netlink.Nftables { public enum NftFamily : byte { Inet = 1 } public sealed class NftablesNetlinkClient : IDisposable { public static NftablesNetlinkClient Open() => throw new NotImplementedException(); public bool TableExists(NftFamily f, string t) => false; public void AddSetElements(NftFamily f, string t, string s, IReadOnlyList<byte[]> k) {} public void DeleteSetElements(NftFamily f, string t, string s, IReadOnlyList<byte[]> k) {} public void Dispose() {} } }
namespace CniEgress.Netlink.Route {
 public sealed record LinkInfo(int Index, string Name, PhysicalAddress Mac, int Mtu, bool IsUp, string? Kind, int? PeerIndex);
 public sealed record RouteSpec(IPNetwork Destination, int OutputInterface, IPAddress? Gateway = null, RouteScope Scope = RouteScope.Universe, bool OnLink = false, int Table = 254);
 public enum RouteScope : byte { Universe = 0, Link = 253, Host = 254 }
 public sealed class RouteNetlinkClient : IDisposable { public static RouteNetlinkClient Open() => throw new NotImplementedException();
  public int CreateVeth(string h, string p, CniEgress.Netns.NetworkNamespace ns, int mtu, PhysicalAddress? hm = null, PhysicalAddress? pm = null) => 0;
  public LinkInfo? FindLink(string n) => null; public LinkInfo? FindLink(int i) => null; public IReadOnlyList<LinkInfo> ListLinks() => [];
  public void SetLinkUp(int i) {} public void DeleteLink(int i) {} public void AddAddress(int i, InterfaceAddress a, bool noDad) {}
  public IReadOnlyList<InterfaceAddress> ListAddresses(int i) => []; public void ReplaceRoute(RouteSpec r) {} public IReadOnlyList<RouteSpec> ListRoutes(AddressFamily f, int t = 254) => [];
  public void AddPermanentNeighbour(int i, IPAddress a, PhysicalAddress m) {} public LinkInfo? DefaultRouteLink(AddressFamily f) => null; public void Dispose() {} } }
namespace CniEgress.CniPlugin.Ipam.Builtin { public sealed class BuiltinIpamAdapter(CniEgress.CniPlugin.Config.NetworkConfig c, CniEgress.CniPlugin.Cni.CniEnvironment e) : IIpam {
  public CniEgress.CniPlugin.Cni.CniResult Add() => throw new NotImplementedException(); public void Del() {} public void CollectGarbage(IReadOnlySet<CniEgress.CniPlugin.Config.AttachmentKey> v, IReadOnlyList<CniEgress.State.AttachmentRecord> s) {} public void CheckAvailable() {} } }
