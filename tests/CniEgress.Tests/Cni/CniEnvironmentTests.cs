using CniEgress.CniPlugin.Cni;
using Xunit;

namespace CniEgress.Tests.Cni;

public class CniEnvironmentTests
{
    private static Func<string, string?> Env(string command, string? id = "c1", string? netns = "/run/netns/p", string? ifname = "eth0", string? args = null, string? path = "/opt/cni/bin:/usr/lib/cni")
    {
        var env = new Dictionary<string, string> { ["CNI_COMMAND"] = command };
        if (id != null) env["CNI_CONTAINERID"] = id;
        if (netns != null) env["CNI_NETNS"] = netns;
        if (ifname != null) env["CNI_IFNAME"] = ifname;
        if (args != null) env["CNI_ARGS"] = args;
        if (path != null) env["CNI_PATH"] = path;
        return name => env.GetValueOrDefault(name);
    }

    private static int ErrorCode(Func<string, string?> env) => Assert.Throws<CniException>(() => CniEnvironment.From(env)).Code;

    [Fact]
    public void Add_reads_every_variable()
    {
        var env = CniEnvironment.From(Env("ADD", args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=a;FOO=bar"));
        Assert.Equal(CniCommand.Add, env.Command);
        Assert.Equal(("c1", "/run/netns/p", "eth0"), (env.ContainerId, env.NetnsPath, env.IfName));
        Assert.Equal(["/opt/cni/bin", "/usr/lib/cni"], env.PluginPaths);
        Assert.Equal(("x", "a"), (env.Args.PodNamespace, env.Args.PodName));
    }

    [Theory]
    [InlineData("")]
    [InlineData("add")]
    [InlineData("FROB")]
    public void Unknown_or_missing_command_is_code_4(string command) => Assert.Equal(4, ErrorCode(Env(command)));

    [Theory]
    [InlineData("ADD")]
    [InlineData("CHECK")]
    [InlineData("DEL")]
    public void Attachment_verbs_need_a_container_id(string command) => Assert.Equal(4, ErrorCode(Env(command, id: null)));

    [Theory]
    [InlineData("ADD")]
    [InlineData("CHECK")]
    public void Add_and_check_need_a_netns(string command) => Assert.Equal(4, ErrorCode(Env(command, netns: "")));

    [Fact]
    public void Del_accepts_an_empty_netns() => Assert.Equal("", CniEnvironment.From(Env("DEL", netns: "")).NetnsPath);

    [Theory]
    [InlineData("STATUS")]
    [InlineData("GC")]
    [InlineData("VERSION")]
    public void Node_level_verbs_need_no_attachment(string command) =>
        Assert.NotNull(CniEnvironment.From(Env(command, id: null, netns: null, ifname: null)));

    [Theory]
    [InlineData("eth0123456789012")] // 16 characters
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("et/h0")]
    [InlineData("eth:0")]
    [InlineData("eth 0")]
    public void Bad_interface_names_are_code_4(string ifname) => Assert.Equal(4, ErrorCode(Env("ADD", ifname: ifname)));

    [Theory]
    [InlineData("-abc")]
    [InlineData("ab/c")]
    [InlineData("ab c")]
    public void Bad_container_ids_are_code_4(string id) => Assert.Equal(4, ErrorCode(Env("ADD", id: id)));

    [Fact]
    public void Unknown_cni_args_without_IgnoreUnknown_are_code_4() =>
        Assert.Equal(4, ErrorCode(Env("ADD", args: "FOO=bar")));

    [Fact]
    public void Malformed_cni_args_are_code_4() => Assert.Equal(4, ErrorCode(Env("ADD", args: "K8S_POD_NAME")));
}
