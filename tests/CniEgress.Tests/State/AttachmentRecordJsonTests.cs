using System.Text;
using CniEgress.State;
using Xunit;

namespace CniEgress.Tests.State;

public class AttachmentRecordJsonTests
{
    private static readonly AttachmentRecord Full = new()
    {
        ContainerId = "abc",
        IfName = "eth0",
        Network = "k8s",
        NetnsPath = "/run/netns/p",
        HostInterface = "ceg0123456789ab",
        PodNamespace = "default",
        PodName = "web-0",
        PodUid = "uid-1",
        Addresses = ["10.244.1.5/32", "fd00::5/128"],
        IpamType = "cni-egress",
        Masquerade = true,
        Complete = true,
        Created = new DateTimeOffset(2026, 11, 24, 1, 2, 3, TimeSpan.Zero),
    };

    [Fact]
    public void Round_trips_every_field()
    {
        var back = AttachmentRecordJson.Parse(AttachmentRecordJson.Serialize(Full))!;
        Assert.Equal(Full with { Addresses = back.Addresses }, back);
        Assert.Equal(Full.Addresses, back.Addresses);
    }

    [Fact]
    public void Writes_camel_case_names_and_omits_absent_pod_identity()
    {
        string json = Encoding.UTF8.GetString(AttachmentRecordJson.Serialize(Full with { PodName = null, PodUid = null }));
        Assert.Contains("\"hostInterface\": \"ceg0123456789ab\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"podName\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"containerId\": \"a\"")]
    [InlineData("[1,2]")]
    [InlineData("{\"containerId\": \"a\", \"ifName\": \"eth0\"}")]
    [InlineData("{\"containerId\": 5, \"ifName\": \"eth0\", \"network\": \"n\", \"hostInterface\": \"h\", \"ipamType\": \"x\"}")]
    public void Torn_or_foreign_files_are_not_records(string text) =>
        Assert.Null(AttachmentRecordJson.Parse(Encoding.UTF8.GetBytes(text)));
}
