using System.Globalization;

namespace CniEgress.CniPlugin.Cni;

/// <summary>The spec versions we speak. Results are rendered in the version the caller sent.</summary>
public readonly record struct CniVersion(int Major, int Minor, int Patch) : IComparable<CniVersion>
{
    public static readonly CniVersion V0_3_0 = new(0, 3, 0);
    public static readonly CniVersion V0_3_1 = new(0, 3, 1);
    public static readonly CniVersion V0_4_0 = new(0, 4, 0);
    public static readonly CniVersion V1_0_0 = new(1, 0, 0);
    public static readonly CniVersion V1_1_0 = new(1, 1, 0);

    public static IReadOnlyList<CniVersion> Supported { get; } = [V0_3_0, V0_3_1, V0_4_0, V1_0_0, V1_1_0];

    public static CniVersion Latest => V1_1_0;

    public bool IsSupported => Supported.Contains(this);

    /// <summary>0.3.x and 0.4.0 results carry "version" on each IP; 1.0.0 dropped it.</summary>
    public bool IpsCarryVersion => this < V1_0_0;

    public static bool TryParse(string? text, out CniVersion version)
    {
        version = default;
        if (string.IsNullOrEmpty(text)) return false;
        string[] parts = text.Split('.');
        if (parts.Length != 3) return false;
        var numbers = new int[3];
        for (int i = 0; i < 3; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i])) return false;
        version = new CniVersion(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    public static CniVersion Parse(string text) =>
        TryParse(text, out var version) ? version : throw new FormatException($"'{text}' is not a CNI version like 1.0.0");

    public int CompareTo(CniVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major)
        : Minor != other.Minor ? Minor.CompareTo(other.Minor)
        : Patch.CompareTo(other.Patch);

    public static bool operator <(CniVersion a, CniVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(CniVersion a, CniVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(CniVersion a, CniVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(CniVersion a, CniVersion b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Patch}");
}
