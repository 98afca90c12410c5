using System.Numerics;
using System.Runtime.CompilerServices;

namespace NetDsl.Kernels;

/// <summary>Inverted-dropout masks from a counter-based generator: element i of stream s under seed k keeps or drops
/// by a hash of (k, s, i) alone, so any device can draw the same mask in any order.</summary>
public static class Dropout
{
    /// <summary>Fills <paramref name="mask"/> with 1 / (1 − rate) where a value is kept and 0 where it is dropped.</summary>
    public static void FillMask<T>(Span<T> mask, double rate, ulong seed, ulong stream) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rate is < 0 or >= 1 || double.IsNaN(rate))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must lie in [0, 1).");
        T keep = T.CreateTruncating(1.0 / (1.0 - rate));
        // Compare 24 uniform bits against the rate scaled to 2^24.
        uint threshold = (uint)Math.Round(rate * (1 << 24));
        ulong key = Mix(seed ^ Mix(stream + 0x632BE59BD9B4E019UL));
        for (int i = 0; i < mask.Length; i++)
            mask[i] = (uint)(Mix(key + (ulong)i * 0x9E3779B97F4A7C15UL) >> 40) >= threshold ? keep : T.Zero;
    }

    /// <summary>The SplitMix64 finalizer: a bijective mix of 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
