using CniEgress.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace CniEgress.Tests.Conformance;

/// <summary>One world for every case (9 pods wired once); built on first use, so a run that
/// skips kernel tests never builds it.</summary>
public sealed class NetpolFixture : IDisposable
{
    private readonly Lazy<NetpolWorld> world = new(() => new NetpolWorld());

    public NetpolWorld World => world.Value;

    public void Dispose()
    {
        if (world.IsValueCreated) world.Value.Dispose();
    }
}

/// <summary>Runs alone: 81 probes at a time, with every other kernel test's probes beside them on
/// 2 cores, starved the one-second probes of other tests.</summary>
[CollectionDefinition(nameof(UpstreamNetpolTests), DisableParallelization = true)]
public sealed class NetpolRunsAlone;

/// <summary>The upstream Kubernetes NetworkPolicy e2e tests (ingress and egress, TCP and UDP), ported
/// as data (Conformance/*-cases.yaml): every step's policies and labels are written into the
/// agent's folder, every cell of every truth table is probed with real TCP or UDP, and a failure
/// shows the expected and observed tables with the differing cells marked.</summary>
[Collection(nameof(UpstreamNetpolTests))]
public sealed class UpstreamNetpolTests(NetpolFixture fixture, ITestOutputHelper output) : IClassFixture<NetpolFixture>
{
    public static TheoryData<string> Cases() => new(NetpolCases.All().Select(c => c.Name));

    [KernelTheory]
    [MemberData(nameof(Cases))]
    public void Upstream_case(string name)
    {
        var netpol = NetpolCases.All().Single(c => c.Name == name);
        var world = fixture.World;
        var failures = new List<string>();
        for (int s = 0; s < netpol.Steps.Count; s++)
        {
            var step = netpol.Steps[s];
            world.Write(step.NamespaceLabels, step.PodLabels, step.Policies);
            foreach (var probe in step.Probes)
            {
                var actual = world.Probe(probe.Port, probe.Protocol, probe.Columns);
                var suspects = probe.Expected.Where(kv => kv.Value && !actual[kv.Key]).Select(kv => kv.Key).ToList();
                if (suspects.Count > 0)
                    foreach (var (cell, reached) in world.Confirm(suspects, probe.Port, probe.Protocol)) actual[cell] = reached;
                string title = $"step {s + 1}{(step.Note == null ? "" : " (" + step.Note + ")")}, {probe.Protocol} {probe.Port}";
                if (probe.Expected.All(kv => actual[kv.Key] == kv.Value))
                {
                    output.WriteLine(title + ": as expected");
                    continue;
                }
                var differing = probe.Expected.Where(kv => actual[kv.Key] != kv.Value).Select(kv => $"{kv.Key.From} -> {kv.Key.To} expected {(kv.Value ? "allowed" : "denied")}");
                failures.Add($"{title}: {string.Join("; ", differing)}\n(.>X: expected allowed, denied; X>.: expected denied, allowed)\n{NetpolCases.Compare(probe.Columns, probe.Expected, actual)}");
            }
        }
        // The next case starts from no policies and the default labels.
        world.Write(NetpolWorld.DefaultNamespaceLabels(), NetpolWorld.DefaultPodLabels(), []);
        Assert.True(failures.Count == 0, $"{netpol.Name} (upstream: {netpol.Upstream})\n" + string.Join("\n", failures));
    }
}
