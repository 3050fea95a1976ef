using System.Text.Json;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;
using CniEgress.CniPlugin.Verbs;
using CniEgress.Interop;

namespace CniEgress.CniPlugin;

/// <summary>The only code that touches stdin, stdout and the exit code. stdout carries nothing
/// but JSON: a result, the VERSION answer, or a spec error; never a stack trace.</summary>
public static class Program
{
    public static int Main()
    {
        byte[] stdin = [];
        CniVersion version = CniVersion.Latest;
        PluginLog? log = null;
        try
        {
            stdin = ReadStdin();
            var env = CniEnvironment.FromProcess();
            if (env.Command == CniCommand.Version)
            {
                Write(VersionCommand.Execute(stdin));
                return 0;
            }
            var config = NetworkConfigParser.Parse(stdin);
            version = config.Version;
            if (config.LogFile != null)
                PluginLog.Current = log = new PluginLog(config.LogFile, $"{env.Command.ToString().ToUpperInvariant()} {env.ContainerId}/{env.IfName}");
            var output = Dispatch(new CniContext(env, config, stdin));
            if (output != null) Write(output);
            log?.Write("ok");
            return 0;
        }
        catch (CniException e)
        {
            return Fail(e, stdin, version, log);
        }
        catch (Exception e)
        {
            // Never a stack trace on stdout: name the failure, keep the spec's shape.
            return Fail(new CniException(CniErrorCode.Internal, $"unexpected {e.GetType().Name}: {e.Message}"), stdin, version, log);
        }
    }

    private static Action<Utf8JsonWriter>? Dispatch(CniContext context)
    {
        switch (context.Env.Command)
        {
            case CniCommand.Add: return AddCommand.Execute(context);
            case CniCommand.Del: DelCommand.Execute(context); return null;
            case CniCommand.Check: CheckCommand.Execute(context); return null;
            case CniCommand.Status: StatusCommand.Execute(context); return null;
            case CniCommand.Gc: GcCommand.Execute(context); return null;
            default: throw new CniException(CniErrorCode.InvalidEnvironment, $"unsupported command {context.Env.Command}");
        }
    }

    private static int Fail(CniException error, byte[] stdin, CniVersion version, PluginLog? log)
    {
        if (version == CniVersion.Latest)
        {
            // The config may not have parsed; still answer in the caller's version if it named one we speak.
            try { version = NetworkConfigParser.ParseVersionOnly(stdin); } catch (CniException) { }
        }
        log?.Write($"error {error.Code}: {error.Message}");
        try { Write(json => error.WriteJson(json, version)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // no stdout to answer on: the exit code says it
        return 1;
    }

    /// <summary>Real configs, prevResult included, are a few KB. The cap keeps a runaway writer
    /// inside the GC's reserved range (see the project file), with room to parse what it lets in.</summary>
    private const int MaxConfigBytes = 16 * 1024 * 1024;

    private static byte[] ReadStdin()
    {
        try { return StandardStreams.ReadAllInput(MaxConfigBytes); }
        catch (InvalidDataException) { throw new CniException(CniErrorCode.InvalidNetworkConfig, $"network config on stdin is larger than {MaxConfigBytes / (1024 * 1024)} MiB"); }
        catch (IOException e) { throw new CniException(CniErrorCode.IoFailure, $"network config could not be read: {e.Message}"); }
    }

    private static void Write(Action<Utf8JsonWriter> document) => StandardStreams.WriteOutput(CniJson.ToUtf8(document));
}
