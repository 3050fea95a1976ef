using CniEgress.PolicyAgent.Sources;
using CniEgress.State;
using CniEgress.Tests.Infrastructure;
using Xunit;

namespace CniEgress.Tests.Agent;

/// <summary>The agent's view of the plugin's attachment records, on a real (temporary) folder.</summary>
public sealed class LocalAttachmentsTests : IDisposable
{
    private readonly string stateDir = Directory.CreateTempSubdirectory("attachments").FullName;

    public void Dispose() => Directory.Delete(stateDir, recursive: true);

    private static AttachmentRecord Record(string pod, string address) => new()
    {
        ContainerId = "c-" + pod, IfName = "eth0", Network = "n", HostInterface = "ceg" + pod,
        PodNamespace = "default", PodName = pod, Addresses = [address + "/32"], IpamType = "cni-egress",
    };

    [Fact]
    public void A_record_replaced_within_one_clock_tick_with_the_same_size_is_read_again()
    {
        var store = new AttachmentStore(stateDir);
        var attachments = new LocalAttachments(store);
        store.Write(Record("a", "10.0.0.1"));
        Assert.Equal("10.0.0.1", attachments.Read()["ceg" + "a"].Addresses.Single().ToString());

        // Same length, and the old modification time put back: only the inode tells the versions apart.
        string path = store.PathOf("c-a", "eth0"), stamp = Path.Combine(stateDir, "stamp");
        Shell.Ok("touch", "-r", path, stamp);
        store.Write(Record("a", "10.0.0.2"));
        Shell.Ok("touch", "-r", stamp, path);
        Assert.Equal("10.0.0.2", attachments.Read()["ceg" + "a"].Addresses.Single().ToString());
    }

    [Fact]
    public void An_unchanged_record_is_not_parsed_again_and_a_deleted_one_is_dropped()
    {
        var store = new AttachmentStore(stateDir);
        var attachments = new LocalAttachments(store);
        store.Write(Record("a", "10.0.0.1"));
        store.Write(Record("b", "10.0.0.2"));
        Assert.Equal(2, attachments.Read().Count);

        // An edit in place that keeps inode, size and time is invisible by design (the plugin never
        // writes so); that the old pod is still reported shows the record was not parsed again.
        string path = store.PathOf("c-a", "eth0"), stamp = Path.Combine(stateDir, "stamp");
        Shell.Ok("touch", "-r", path, stamp);
        File.WriteAllText(path, File.ReadAllText(path).Replace("10.0.0.1", "10.0.0.9", StringComparison.Ordinal));
        Shell.Ok("touch", "-r", stamp, path);
        Assert.Equal("10.0.0.1", attachments.Read()["ceg" + "a"].Addresses.Single().ToString());

        store.Delete("c-b", "eth0");
        Assert.Equal(["ceg" + "a"], attachments.Read().Keys);
    }

    [Fact]
    public void While_watched_the_folders_events_bring_new_and_deleted_records()
    {
        var store = new AttachmentStore(stateDir);
        Directory.CreateDirectory(store.Directory);
        var attachments = new LocalAttachments(store);
        int events = 0;
        using var watcher = attachments.Watch(() => Interlocked.Increment(ref events));
        Assert.NotNull(watcher);
        store.Write(Record("a", "10.0.0.1"));
        Assert.True(Wait.Until(() => Volatile.Read(ref events) > 0, TimeSpan.FromSeconds(5)));
        Assert.Equal(["ceg" + "a"], attachments.Read().Keys);

        int before = Volatile.Read(ref events);
        store.Write(Record("b", "10.0.0.2"));
        store.Delete("c-a", "eth0");
        Assert.True(Wait.Until(() => attachments.Read().Keys.SequenceEqual(["ceg" + "b"]), TimeSpan.FromSeconds(5)),
            $"{Volatile.Read(ref events) - before} events, then {string.Join(", ", attachments.Read().Keys)}");
        Assert.Equal("10.0.0.2", attachments.Find("c-b", "eth0")!.Addresses.Single().ToString());
    }

    [Fact]
    public void A_reading_that_finds_nothing_new_is_the_same_map_and_a_change_keeps_the_other_pods_objects()
    {
        var store = new AttachmentStore(stateDir);
        var attachments = new LocalAttachments(store);
        store.Write(Record("a", "10.0.0.1"));
        store.Write(Record("b", "10.0.0.2"));
        var first = attachments.Read();
        Assert.Same(first, attachments.Read());

        store.Write(Record("c", "10.0.0.3"));
        var second = attachments.Read();
        Assert.NotSame(first, second);
        Assert.Equal(["ceg" + "a", "ceg" + "b"], first.Keys); // what the reconciler holds is never changed in place
        Assert.Equal(["ceg" + "a", "ceg" + "b", "ceg" + "c"], second.Keys);
        Assert.Same(first["ceg" + "a"], second["ceg" + "a"]);

        store.Delete("c-a", "eth0");
        Assert.Equal(["ceg" + "b", "ceg" + "c"], attachments.Read().Keys);
        Assert.Same(second["ceg" + "b"], attachments.Read()["ceg" + "b"]);
    }

    [Fact]
    public void When_two_records_claim_one_interface_deleting_one_leaves_the_other()
    {
        var store = new AttachmentStore(stateDir);
        var attachments = new LocalAttachments(store);
        store.Write(Record("a", "10.0.0.1"));
        store.Write(Record("a", "10.0.0.2") with { ContainerId = "c-other" });
        Assert.Single(attachments.Read());

        store.Delete("c-other", "eth0");
        Assert.Equal("10.0.0.1", attachments.Read()["ceg" + "a"].Addresses.Single().ToString());
        store.Delete("c-a", "eth0");
        Assert.Empty(attachments.Read());
    }
}
