namespace CniEgress.Tests.Infrastructure;

/// <summary>An ADD into a fresh pod namespace, run under strace for the given system calls; DEL and
/// the pod namespace go on dispose.</summary>
public sealed class TracedAdd : IDisposable
{
    private readonly TestNetwork network;
    private readonly string id = "c" + Guid.NewGuid().ToString("N");

    public TracedAdd(TestNetwork network, string syscalls)
    {
        this.network = network;
        string trace = Path.GetTempFileName();
        try
        {
            Response = CniPluginProcess.Invoke("ADD", network.Config, id, Pod.Path,
                runUnder: ["strace", "-f", "-qq", "-e", "trace=" + syscalls, "-o", trace]);
            Trace = File.ReadAllText(trace);
        }
        catch
        {
            Dispose();
            throw;
        }
        finally
        {
            File.Delete(trace);
        }
    }

    public PodNamespace Pod { get; } = new();
    public CniPluginProcess.Response Response { get; }

    /// <summary>strace's lines.</summary>
    public string Trace { get; }

    public void Dispose()
    {
        network.Del(id, Pod.Path);
        Pod.Dispose();
    }
}
