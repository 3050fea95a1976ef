namespace CniEgress.PolicyAgent.Policy;

/// <summary>Reusable lists per thread (two per type) for the temporaries of a class rebuild. A rebuild of a
/// class of thousands of boxes otherwise allocates lists of hundreds of KB per change, and on a
/// heap that holds the whole cluster every such change paid a collection. Lists above 256 KB are
/// not kept (a full sync of 100,000-CIDR classes would otherwise pin their size per thread).</summary>
internal static class ScratchList<T>
{
    private const int KeptBytes = 256 << 10;

    // Two per thread: a class rebuild holds its boxes and their normalized copy at once.
    [ThreadStatic]
    private static List<T>? first;

    [ThreadStatic]
    private static List<T>? second;

    public static List<T> Rent(int capacity)
    {
        var list = first ?? second ?? new List<T>(capacity);
        if (ReferenceEquals(list, first)) first = null;
        else if (ReferenceEquals(list, second)) second = null;
        list.Clear();
        list.EnsureCapacity(capacity);
        return list;
    }

    public static void Return(List<T> list)
    {
        if ((long)list.Capacity * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() > KeptBytes) return;
        list.Clear();
        if (first == null) first = list;
        else second ??= list;
    }
}
