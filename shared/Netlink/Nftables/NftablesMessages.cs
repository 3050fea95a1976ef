using System.Buffers.Binary;

namespace CniEgress.Netlink.Nftables;

/// <summary>Encodes nf_tables requests (&lt;linux/netfilter/nf_tables.h&gt;, nfnetlink.h); pure, no kernel.</summary>
internal static class NftablesMessages
{
    public const ushort NFNL_MSG_BATCH_BEGIN = 0x10, NFNL_MSG_BATCH_END = 0x11;
    public const byte NFNL_SUBSYS_NFTABLES = 10;
    public const byte NFT_MSG_GETTABLE = 1, NFT_MSG_NEWRULE = 6, NFT_MSG_GETRULE = 7, NFT_MSG_GETSET = 10, NFT_MSG_NEWSETELEM = 12, NFT_MSG_DELSETELEM = 14;
    public const ushort NFTA_TABLE_NAME = 1;
    public const ushort NFTA_RULE_TABLE = 1;
    public const ushort NFTA_SET_TABLE = 1, NFTA_SET_NAME = 2;
    public const ushort NFTA_SET_ELEM_LIST_TABLE = 1, NFTA_SET_ELEM_LIST_SET = 2, NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    public const ushort NFTA_LIST_ELEM = 1, NFTA_SET_ELEM_KEY = 1, NFTA_DATA_VALUE = 1;
    public const int NFT_DATA_VALUE_MAXLEN = 64;
    public const ushort NFTA_SET_ELEM_DATA = 2, NFTA_SET_ELEM_FLAGS = 3, NFTA_SET_ELEM_KEY_END = 10;
    public const ushort NFTA_DATA_VERDICT = 2, NFTA_VERDICT_CODE = 1, NFTA_VERDICT_CHAIN = 2;
    public const uint NFT_SET_ELEM_INTERVAL_END = 1;

    private const NetlinkMessageFlags RequestAck = NetlinkMessageFlags.Request | NetlinkMessageFlags.Ack;

    /// <summary>nfnetlink message type: subsystem in the high byte, command in the low.</summary>
    public static ushort MessageType(byte command) => (ushort)((NFNL_SUBSYS_NFTABLES << 8) | command);

    public static void GetTable(NetlinkMessageWriter writer, uint sequence, NftFamily family, string table)
    {
        writer.BeginMessage(MessageType(NFT_MSG_GETTABLE), RequestAck, sequence);
        writer.WriteHeader(new NfGenMessage { Family = (byte)family });
        writer.WriteAttribute(NFTA_TABLE_NAME, table);
        writer.EndMessage();
    }

    /// <summary>A dump of the rules of one table (the kernel filters by NFTA_RULE_TABLE).</summary>
    public static void DumpRules(NetlinkMessageWriter writer, uint sequence, NftFamily family, string table)
    {
        writer.BeginMessage(MessageType(NFT_MSG_GETRULE), NetlinkMessageFlags.Request | NetlinkMessageFlags.Dump, sequence);
        writer.WriteHeader(new NfGenMessage { Family = (byte)family });
        writer.WriteAttribute(NFTA_RULE_TABLE, table);
        writer.EndMessage();
    }

    public static void GetSet(NetlinkMessageWriter writer, uint sequence, NftFamily family, string table, string set)
    {
        writer.BeginMessage(MessageType(NFT_MSG_GETSET), RequestAck, sequence);
        writer.WriteHeader(new NfGenMessage { Family = (byte)family });
        writer.WriteAttribute(NFTA_SET_TABLE, table);
        writer.WriteAttribute(NFTA_SET_NAME, set);
        writer.EndMessage();
    }

    /// <summary>One transaction: BATCH_BEGIN (seq), the element message (seq+1, acked),
    /// BATCH_END (seq+2). The kernel applies all of it or nothing. NEWSETELEM carries
    /// NLM_F_CREATE without NLM_F_EXCL, so an element already present is not an error.</summary>
    public static void SetElementsBatch(NetlinkMessageWriter writer, uint sequence, bool add, NftFamily family, string table, string set, IReadOnlyList<byte[]> keys)
    {
        BatchMarker(writer, NFNL_MSG_BATCH_BEGIN, sequence);
        var flags = add ? RequestAck | NetlinkMessageFlags.Create : RequestAck;
        writer.BeginMessage(MessageType(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM), flags, sequence + 1);
        writer.WriteHeader(new NfGenMessage { Family = (byte)family });
        writer.WriteAttribute(NFTA_SET_ELEM_LIST_TABLE, table);
        writer.WriteAttribute(NFTA_SET_ELEM_LIST_SET, set);
        writer.BeginNested(NFTA_SET_ELEM_LIST_ELEMENTS);
        foreach (byte[] key in keys)
        {
            writer.BeginNested(NFTA_LIST_ELEM);
            writer.BeginNested(NFTA_SET_ELEM_KEY);
            writer.WriteAttribute(NFTA_DATA_VALUE, key);
            writer.EndNested();
            writer.EndNested();
        }
        writer.EndNested();
        writer.EndMessage();
        BatchMarker(writer, NFNL_MSG_BATCH_END, sequence + 2);
    }

    /// <summary>One NEWSETELEM or DELSETELEM message (acked unless <paramref name="ack"/> is false) for a batch the caller frames with
    /// <see cref="BatchBegin"/> and <see cref="BatchEnd"/>. Elements may carry an interval end
    /// flag, a range end key (concatenated interval sets) and a verdict (verdict maps);
    /// <paramref name="elements"/> null: a DELSETELEM without an element list, which flushes the set.</summary>
    public static void Elements(NetlinkMessageWriter writer, uint sequence, bool add, NftFamily family, string table, string set, IReadOnlyList<NftElement>? elements, bool ack = true)
    {
        var flags = (ack ? RequestAck : NetlinkMessageFlags.Request) | (add ? NetlinkMessageFlags.Create : 0);
        writer.BeginMessage(MessageType(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM), flags, sequence);
        writer.WriteHeader(new NfGenMessage { Family = (byte)family });
        writer.WriteAttribute(NFTA_SET_ELEM_LIST_TABLE, table);
        writer.WriteAttribute(NFTA_SET_ELEM_LIST_SET, set);
        if (elements == null)
        {
            writer.EndMessage();
            return;
        }
        writer.BeginNested(NFTA_SET_ELEM_LIST_ELEMENTS);
        foreach (var element in elements)
        {
            writer.BeginNested(NFTA_LIST_ELEM);
            writer.BeginNested(NFTA_SET_ELEM_KEY);
            writer.WriteAttribute(NFTA_DATA_VALUE, element.Key);
            writer.EndNested();
            if (element.KeyEnd != null)
            {
                writer.BeginNested(NFTA_SET_ELEM_KEY_END);
                writer.WriteAttribute(NFTA_DATA_VALUE, element.KeyEnd);
                writer.EndNested();
            }
            if (element.IntervalEnd) writer.WriteAttributeBigEndian(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
            if (add && element.Verdict is { } verdict)
            {
                writer.BeginNested(NFTA_SET_ELEM_DATA);
                writer.BeginNested(NFTA_DATA_VERDICT);
                writer.WriteAttributeBigEndian(NFTA_VERDICT_CODE, unchecked((uint)verdict.Code));
                if (verdict.Chain != null) writer.WriteAttribute(NFTA_VERDICT_CHAIN, verdict.Chain);
                writer.EndNested();
                writer.EndNested();
            }
            writer.EndNested();
        }
        writer.EndNested();
        writer.EndMessage();
    }

    public static void BatchBegin(NetlinkMessageWriter writer, uint sequence) => BatchMarker(writer, NFNL_MSG_BATCH_BEGIN, sequence);

    public static void BatchEnd(NetlinkMessageWriter writer, uint sequence) => BatchMarker(writer, NFNL_MSG_BATCH_END, sequence);

    private static void BatchMarker(NetlinkMessageWriter writer, ushort type, uint sequence)
    {
        writer.BeginMessage(type, NetlinkMessageFlags.Request, sequence);
        // res_id names the subsystem the batch is for, in network byte order.
        writer.WriteHeader(new NfGenMessage { ResourceIdBigEndian = BinaryPrimitives.ReverseEndianness((ushort)NFNL_SUBSYS_NFTABLES) });
        writer.EndMessage();
    }
}
