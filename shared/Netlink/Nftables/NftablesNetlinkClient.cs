namespace CniEgress.Netlink.Nftables;

/// <summary>nf_tables over nfnetlink for the namespace its socket was opened in: the dynamic
/// parts of a ruleset (set elements) change here without running `nft`. Safe to share between
/// threads (calls are serialized).</summary>
public sealed class NftablesNetlinkClient : IDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly NetlinkMessageWriter _writer = new();
    private readonly Lock _gate = new();

    private NftablesNetlinkClient(NetlinkSocket socket) => _socket = socket;

    /// <summary>A client for the calling thread's current network namespace.</summary>
    public static NftablesNetlinkClient Open() => new(NetlinkSocket.Open(NetlinkProtocol.Netfilter));

    public bool TableExists(NftFamily family, string table)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        return Exists($"get table {Describe(family)} {table}",
            (writer, sequence) => NftablesMessages.GetTable(writer, sequence, family, table));
    }

    /// <summary>How many rules the table's chains hold (0 when the table does not exist). A dump
    /// that the kernel flags as interrupted (the ruleset changed meanwhile) is taken again.</summary>
    public int CountRules(NftFamily family, string table)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        ushort ruleMessage = NftablesMessages.MessageType(NftablesMessages.NFT_MSG_NEWRULE);
        lock (_gate)
        {
            for (int attempt = 1; ; attempt++)
            {
                _writer.Clear();
                uint sequence = _socket.NextSequence();
                NftablesMessages.DumpRules(_writer, sequence, family, table);
                int rules = 0;
                try
                {
                    bool consistent = _socket.Dump($"list rules of table {Describe(family)} {table}", _writer.WrittenSpan, sequence, (in NetlinkMessage message) =>
                    {
                        if (message.Type == ruleMessage) rules++;
                    });
                    if (consistent || attempt == 3) return rules;
                }
                catch (NetlinkNotFoundException)
                {
                    return 0;
                }
            }
        }
    }

    public bool SetExists(NftFamily family, string table, string set)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        ArgumentException.ThrowIfNullOrEmpty(set);
        return Exists($"get set {Describe(family)} {table} {set}",
            (writer, sequence) => NftablesMessages.GetSet(writer, sequence, family, table, set));
    }

    /// <summary>Adds elements (raw keys: 4 bytes for ipv4_addr, 16 for ipv6_addr) in one
    /// transaction; elements already present are fine.</summary>
    /// <exception cref="NetlinkNotFoundException">the table or set does not exist.</exception>
    public void AddSetElements(NftFamily family, string table, string set, IReadOnlyList<byte[]> keys)
    {
        if (!ValidateElements(table, set, keys)) return;
        ApplyBatch($"add {keys.Count} element(s) to set {Describe(family)} {table} {set}", add: true, family, table, set, keys);
    }

    /// <summary>Deletes elements in one transaction; elements already absent are fine.</summary>
    /// <exception cref="NetlinkNotFoundException">the table or set does not exist.</exception>
    public void DeleteSetElements(NftFamily family, string table, string set, IReadOnlyList<byte[]> keys)
    {
        if (!ValidateElements(table, set, keys)) return;
        string operation = $"delete {keys.Count} element(s) from set {Describe(family)} {table} {set}";
        try
        {
            ApplyBatch(operation, add: false, family, table, set, keys);
        }
        catch (NetlinkNotFoundException)
        {
            // ENOENT aborts the whole transaction, and names neither the culprit nor whether it
            // was the set or an element. NFT_MSG_DESTROYSETELEM (6.3+) would skip missing
            // elements but older kernels reject it, so: a missing set is a real error; otherwise
            // delete one element per transaction and let the absent ones be.
            if (!SetExists(family, table, set)) throw;
            foreach (byte[] key in keys)
            {
                try
                {
                    ApplyBatch(operation, add: false, family, table, set, [key]);
                }
                catch (NetlinkNotFoundException)
                {
                }
            }
        }
    }

    /// <summary>Many element additions and deletions, in order, as one transaction: the kernel
    /// applies all of them or none. Deleting an absent element or adding a present one to a map
    /// is an error that aborts the whole transaction, so callers send exact differences. A flush
    /// empties a set inside the same transaction, so a set can be refilled with no moment empty.</summary>
    public void ApplyElementChanges(NftFamily family, string table, IReadOnlyList<NftElementChange> changes)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        // Several messages per set keep each attribute under 64 KiB. Only the last message asks
        // for an ack (a failure anywhere is reported anyway): thousands of acks would overflow
        // the receive buffer.
        var messages = changes.SelectMany(c => c.IsFlush
            ? [(c.Add, c.Set, Elements: (IReadOnlyList<NftElement>?)null)]
            : c.Elements.Chunk(200).Select(chunk => (c.Add, c.Set, Elements: (IReadOnlyList<NftElement>?)chunk))).ToList();
        if (messages.Count == 0) return;
        lock (_gate)
        {
            _writer.Clear();
            uint first = _socket.NextSequences(messages.Count + 2);
            NftablesMessages.BatchBegin(_writer, first);
            for (int i = 0; i < messages.Count; i++)
                NftablesMessages.Elements(_writer, first + 1 + (uint)i, messages[i].Add, family, table, messages[i].Set, messages[i].Elements, ack: i == messages.Count - 1);
            uint last = first + 1 + (uint)messages.Count;
            NftablesMessages.BatchEnd(_writer, last);
            _socket.ExecuteBatch($"update {messages.Count} element message(s) in table {Describe(family)} {table}", _writer.WrittenSpan, first, last, ackSequence: last - 1);
        }
    }

    public void Dispose() => _socket.Dispose();

    private void ApplyBatch(string operation, bool add, NftFamily family, string table, string set, IReadOnlyList<byte[]> keys)
    {
        lock (_gate)
        {
            _writer.Clear();
            uint first = _socket.NextSequences(3);
            NftablesMessages.SetElementsBatch(_writer, first, add, family, table, set, keys);
            // Only the element message (first + 1) asks for an ack, which comes after the commit;
            // an error for any of the three (e.g. EPERM on BATCH_BEGIN) ends the wait too.
            _socket.ExecuteBatch(operation, _writer.WrittenSpan, first, first + 2, ackSequence: first + 1);
        }
    }

    private bool Exists(string operation, Action<NetlinkMessageWriter, uint> build)
    {
        lock (_gate)
        {
            _writer.Clear();
            uint sequence = _socket.NextSequence();
            build(_writer, sequence);
            return _socket.TryExecute(operation, _writer.WrittenSpan, sequence);
        }
    }

    private static bool ValidateElements(string table, string set, IReadOnlyList<byte[]> keys)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        ArgumentException.ThrowIfNullOrEmpty(set);
        ArgumentNullException.ThrowIfNull(keys);
        foreach (byte[] key in keys)
        {
            if (key is null || key.Length == 0 || key.Length > NftablesMessages.NFT_DATA_VALUE_MAXLEN)
                throw new ArgumentException($"set element keys must be 1..{NftablesMessages.NFT_DATA_VALUE_MAXLEN} bytes", nameof(keys));
        }
        return keys.Count > 0;
    }

    private static string Describe(NftFamily family) => family switch
    {
        NftFamily.Inet => "inet",
        NftFamily.IPv4 => "ip",
        NftFamily.IPv6 => "ip6",
        _ => $"family {(byte)family}",
    };
}
