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

    private static readonly CniVersion[] SupportedVersions = [V0_3_0, V0_3_1, V0_4_0, V1_0_0, V1_1_0];

    public static IReadOnlyList<CniVersion> Supported { get; } = Array.AsReadOnly(SupportedVersions);

    public static CniVersion Latest => V1_1_0;

    public bool IsSupported
    {
        get
        {
            foreach (var supported in SupportedVersions)
                if (supported == this) return true;
            return false;
        }
    }

    /// <summary>0.3.x and 0.4.0 results carry "version" on each IP; 1.0.0 dropped it.</summary>
    public bool IpsCarryVersion => this < V1_0_0;

    /// <summary>"MAJOR.MINOR.PATCH", digits only. Parsed by hand: every call reads a version, and
    /// string.Split plus culture-aware int parsing cost ~0.05 ms on their first use in this binary.</summary>
    public static bool TryParse(string? text, out CniVersion version)
    {
        version = default;
        if (string.IsNullOrEmpty(text)) return false;
        ReadOnlySpan<char> rest = text;
        Span<int> numbers = stackalloc int[3];
        for (int i = 0; i < 3; i++)
        {
            int dot = i < 2 ? rest.IndexOf('.') : rest.Length;
            if (dot < 0 || !TryParseNumber(rest[..dot], out numbers[i])) return false;
            rest = i < 2 ? rest[(dot + 1)..] : [];
        }
        version = new CniVersion(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    private static bool TryParseNumber(ReadOnlySpan<char> digits, out int number)
    {
        number = 0;
        if (digits.Length is 0 or > 9) return false;
        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c)) return false;
            number = number * 10 + (c - '0');
        }
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
