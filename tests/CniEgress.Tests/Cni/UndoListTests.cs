using CniEgress.CniPlugin.Verbs;
using Xunit;

namespace CniEgress.Tests.Cni;

public class UndoListTests
{
    [Fact]
    public void Uncommitted_steps_are_undone_newest_first_even_when_one_undo_fails()
    {
        var undone = new List<string>();
        using (var undo = new UndoList())
        {
            undo.Add("ipam", () => undone.Add("ipam"));
            undo.Add("broken", () => throw new InvalidOperationException("boom"));
            undo.Add("veth", () => undone.Add("veth"));
        }
        Assert.Equal(["veth", "ipam"], undone);
    }

    [Fact]
    public void Committed_steps_stay()
    {
        var undone = new List<string>();
        using (var undo = new UndoList())
        {
            undo.Add("ipam", () => undone.Add("ipam"));
            undo.Commit();
        }
        Assert.Empty(undone);
    }
}
