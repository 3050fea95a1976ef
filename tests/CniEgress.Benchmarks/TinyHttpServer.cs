using System.Net;
using System.Net.Sockets;

namespace CniEgress.Benchmarks;

/// <summary>Answers every connection with a fixed HTTP/1.0 response and closes it: a server that
/// costs little per connection, so `ab` measures the path's connection rate, not a fork per request.</summary>
public static class TinyHttpServer
{
    private static readonly byte[] Response = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"u8.ToArray();

    public static int Run(int port)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen(1024);
        while (true)
        {
            var client = listener.Accept();
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var buffer = new byte[2048];
                    try
                    {
                        await client.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                        await client.SendAsync(Response, SocketFlags.None).ConfigureAwait(false);
                        client.Shutdown(SocketShutdown.Both);
                    }
                    catch (SocketException) { }
                }
            });
        }
    }
}
