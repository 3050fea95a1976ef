using Tmds.Linux;

namespace CniEgress.Benchmarks;

/// <summary>getrusage(RUSAGE_CHILDREN).ru_maxrss: the largest resident set of any child waited for.</summary>
public static class ChildPeakRss
{
    public static unsafe double Megabytes()
    {
        rusage usage;
        return LibC.getrusage(LibC.RUSAGE_CHILDREN, &usage) == 0 ? usage.ru_maxrss / 1024.0 : double.NaN;
    }
}
