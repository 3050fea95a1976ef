namespace CniEgress.PolicyAgent.Nftables;

/// <summary>Where nft transactions go: the kernel (<see cref="NftCommand"/>) or, in tests, a
/// recorder. Keeping the text apart from running it is what makes the compiler testable.</summary>
public interface INftExecutor
{
    /// <summary>Applies one transaction atomically, or throws <see cref="NftException"/> and
    /// changes nothing.</summary>
    void Apply(string transaction);

    /// <summary>The chains, sets and maps of our table (empty when the table does not exist).</summary>
    IReadOnlyList<NftRuleset.TableObject> ListObjects();
}

public sealed class NftException(string message) : Exception(message);
