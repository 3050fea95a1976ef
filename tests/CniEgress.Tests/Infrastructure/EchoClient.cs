using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CniEgress.Tests.Infrastructure;

/// <summary>A long-lived TCP connection to an echo server (<see cref="PolicyNode.ServeEcho"/>);
/// create it inside a pod's namespace (NetworkNamespace.Run) and use it from anywhere.</summary>
public static class EchoClient
{
    public static Socket Connect(string address, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 1000, NoDelay = true };
        socket.Connect(IPAddress.Parse(address), port);
        return socket;
    }

    /// <summary>True when a line sent comes back within a second.</summary>
    public static bool Echoes(Socket socket)
    {
        try
        {
            socket.Send("ping\n"u8);
            var buffer = new byte[16];
            int read = socket.Receive(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("ping", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
