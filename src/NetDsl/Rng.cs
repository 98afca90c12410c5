using System.ComponentModel;

namespace NetDsl;

/// <summary>A seeded xoshiro256** generator: the same seed gives the same stream on every platform and version,
/// which <see cref="System.Random"/> does not promise.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class Rng
{
    ulong s0, s1, s2, s3;
    double spareGaussian = double.NaN;

    /// <summary>Seeds the four state words from SplitMix64 over <paramref name="seed"/>.</summary>
    public Rng(ulong seed)
    {
        s0 = Kernels.Dropout.Mix(seed += Kernels.Dropout.Gamma);
        s1 = Kernels.Dropout.Mix(seed += Kernels.Dropout.Gamma);
        s2 = Kernels.Dropout.Mix(seed += Kernels.Dropout.Gamma);
        s3 = Kernels.Dropout.Mix(seed + Kernels.Dropout.Gamma);
    }

    /// <summary>64 uniform bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high).</summary>
    public double NextDouble(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [0, count), without modulo bias.</summary>
    public int NextInt(int count)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "The count must be positive.");
        return (int)Math.BigMul(NextUInt64(), (ulong)count, out _);
    }

    /// <summary>Standard normal sample (Box–Muller, both values used).</summary>
    public double NextGaussian()
    {
        if (!double.IsNaN(spareGaussian))
        {
            double spare = spareGaussian;
            spareGaussian = double.NaN;
            return spare;
        }
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        spareGaussian = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }
}
