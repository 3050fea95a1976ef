using CniEgress.PolicyAgent.Policy;
using k8s.Models;
using Xunit;

namespace CniEgress.Tests.Policy;

public class LabelSelectorMatcherTests
{
    private static readonly Dictionary<string, string> Web = new() { ["app"] = "web", ["tier"] = "front" };
    private static readonly Dictionary<string, string> Db = new() { ["app"] = "db" };
    private static readonly Dictionary<string, string> Unlabelled = [];

    private static LabelSelectorMatcher Compile(Dictionary<string, string>? labels = null, params V1LabelSelectorRequirement[] expressions) =>
        LabelSelectorMatcher.Compile(new V1LabelSelector { MatchLabels = labels, MatchExpressions = expressions.ToList() }, "spec.podSelector");

    private static V1LabelSelectorRequirement Req(string key, string op, params string[] values) =>
        new() { Key = key, OperatorProperty = op, Values = values.ToList() };

    [Fact]
    public void Empty_selector_matches_everything_including_unlabelled() =>
        Assert.True(Compile().Matches(Unlabelled) && Compile().Matches(Web));

    [Fact]
    public void Match_labels_need_every_pair() =>
        Assert.Equal([true, false, false], new[] { Web, Db, Unlabelled }.Select(Compile(new() { ["app"] = "web", ["tier"] = "front" }).Matches));

    [Theory]
    [InlineData("In", new[] { "web", "api" }, true, false, false)]
    [InlineData("NotIn", new[] { "web" }, false, true, true)] // NotIn holds for an object without the key
    [InlineData("Exists", new string[0], true, true, false)]
    [InlineData("DoesNotExist", new string[0], false, false, true)]
    public void Expressions_follow_kubernetes_semantics(string op, string[] values, bool web, bool db, bool unlabelled) =>
        Assert.Equal([web, db, unlabelled], new[] { Web, Db, Unlabelled }.Select(Compile(null, Req("app", op, values)).Matches));

    [Fact]
    public void Labels_and_expressions_are_anded() =>
        Assert.Equal([false, false], new[] { Web, Db }.Select(Compile(new() { ["app"] = "db" }, Req("tier", "Exists")).Matches));

    [Theory]
    [InlineData("In", new string[0], "spec.podSelector.matchExpressions[0].values")]
    [InlineData("Exists", new[] { "x" }, "spec.podSelector.matchExpressions[0].values")]
    [InlineData("Gt", new[] { "1" }, "spec.podSelector.matchExpressions[0].operator")]
    public void Invalid_expressions_name_their_field(string op, string[] values, string field) =>
        Assert.Equal(field, Assert.Throws<PolicyFieldException>(() => Compile(null, Req("app", op, values))).Field);
}
