using System.Text;
using System.Text.Json.Nodes;
using CniEgress.CniPlugin.Cni;
using CniEgress.CniPlugin.Config;
using Xunit;

namespace CniEgress.Tests.Cni;

/// <summary>Thousands of mutated configs: the parser either accepts one or throws a CniException
/// with a spec code (1, 6 or 7) and a message; never any other exception.</summary>
public class ConfigFuzzTests
{
    private const string Seed = """
        {"cniVersion": "1.0.0", "name": "k8s", "type": "cni-egress", "mtu": 1400, "ipMasq": true,
         "clusterCIDRs": ["10.244.0.0/16", "fd00::/64"], "stateDir": "/run/x", "logFile": "/tmp/l",
         "ipam": {"type": "cni-egress", "ranges": [[{"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.10"}]]},
         "cni.dev/valid-attachments": [{"containerID": "c", "ifname": "eth0"}],
         "prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/p"}],
           "ips": [{"address": "10.244.1.5/32", "gateway": "169.254.1.1", "interface": 0}], "routes": [{"dst": "0.0.0.0/0"}]}}
        """;

    private static readonly JsonNode[] OddValues =
        [JsonValue.Create(-1), JsonValue.Create(1e300), JsonValue.Create(""), JsonValue.Create("x/y"), JsonValue.Create(true),
         new JsonArray(), new JsonObject(), JsonValue.Create("10.0.0.0/33"), JsonValue.Create("::/0"), JsonValue.Create(int.MaxValue)];

    [Fact]
    public void Structural_mutations_keep_the_error_contract()
    {
        var random = new Random(20261122);
        int accepted = 0, rejected = 0;
        for (int i = 0; i < 3000; i++)
        {
            var doc = JsonNode.Parse(Seed)!.AsObject();
            for (int m = random.Next(1, 4); m > 0; m--) Mutate(doc, random);
            if (Check(Encoding.UTF8.GetBytes(doc.ToJsonString()))) accepted++; else rejected++;
        }
        Assert.True(accepted > 0 && rejected > 0, $"mutations should both pass and fail: {accepted} accepted, {rejected} rejected");
    }

    [Fact]
    public void Byte_mutations_keep_the_error_contract()
    {
        var random = new Random(7);
        byte[] seed = Encoding.UTF8.GetBytes(Seed);
        for (int i = 0; i < 5000; i++)
        {
            byte[] bytes = random.Next(3) switch
            {
                0 => seed[..random.Next(seed.Length)],
                1 => Flip(seed, random),
                _ => [.. seed, .. Enumerable.Range(0, random.Next(1, 8)).Select(_ => (byte)random.Next(256))],
            };
            Check(bytes);
        }
    }

    private static bool Check(byte[] input)
    {
        try
        {
            NetworkConfigParser.Parse(input);
            return true;
        }
        catch (CniException e)
        {
            Assert.Contains(e.Code, new[] { 1, 6, 7 });
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            Assert.True(CniVersion.Latest.IsSupported); // the error renders in a version we speak
            Assert.NotNull(JsonNode.Parse(CniJson.ToUtf8(json => e.WriteJson(json, CniVersion.Latest)))!["msg"]);
            return false;
        }
    }

    private static byte[] Flip(byte[] seed, Random random)
    {
        byte[] copy = (byte[])seed.Clone();
        for (int k = random.Next(1, 5); k > 0; k--) copy[random.Next(copy.Length)] = (byte)random.Next(256);
        return copy;
    }

    private static void Mutate(JsonObject root, Random random)
    {
        var objects = new List<JsonObject>();
        Collect(root, objects);
        var target = objects[random.Next(objects.Count)];
        if (target.Count == 0) return;
        string key = target.ElementAt(random.Next(target.Count)).Key;
        switch (random.Next(3))
        {
            case 0: target.Remove(key); break;
            case 1: target[key] = OddValues[random.Next(OddValues.Length)].DeepClone(); break;
            default: target["unknown" + random.Next(100)] = OddValues[random.Next(OddValues.Length)].DeepClone(); break;
        }
    }

    private static void Collect(JsonNode? node, List<JsonObject> into)
    {
        if (node is JsonObject obj)
        {
            into.Add(obj);
            foreach (var (_, child) in obj) Collect(child, into);
        }
        else if (node is JsonArray array)
        {
            foreach (var child in array) Collect(child, into);
        }
    }
}
