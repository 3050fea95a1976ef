using System.Globalization;

namespace CniEgress.PolicyAgent.Diagnostics;

/// <summary>ifindex to name in this network namespace (/sys/class/net), reread when an index is new.
/// Not thread safe: one per reader.</summary>
public sealed class InterfaceNames
{
    private readonly Dictionary<int, string> names = [];

    public string Of(int index)
    {
        if (names.TryGetValue(index, out var name)) return name;
        names.Clear();
        foreach (string dir in Directory.EnumerateDirectories("/sys/class/net"))
        {
            try
            {
                if (int.TryParse(File.ReadAllText(Path.Combine(dir, "ifindex")).Trim(), CultureInfo.InvariantCulture, out int i))
                    names[i] = Path.GetFileName(dir);
            }
            catch (IOException) { }
        }
        return names.GetValueOrDefault(index, $"ifindex {index}");
    }
}
