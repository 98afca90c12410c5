using System.Numerics;
using System.Runtime.CompilerServices;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Inverted-dropout masks from a counter-based generator: element i of stream s under seed k keeps or drops
/// by a hash of (k, s, i) alone, so any device can draw the same mask in any order.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Dropout
{
    /// <summary>Fills <paramref name="mask"/> with 1 / (1 − rate) where a value is kept and 0 where it is dropped;
    /// <paramref name="mask"/>[i] is element <paramref name="firstElement"/> + i of the stream.</summary>
    public static void FillMask<T>(Span<T> mask, double rate, ulong seed, ulong stream, long firstElement = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rate is < 0 or >= 1 || double.IsNaN(rate))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must lie in [0, 1).");
        T keep = T.CreateTruncating(1.0 / (1.0 - rate));
        uint threshold = Threshold(rate);
        ulong key = StreamKey(seed, stream, firstElement);
        for (int i = 0; i < mask.Length; i++)
            mask[i] = Keeps(key, i, threshold) ? keep : T.Zero;
    }

    /// <summary>The key of one mask: the seed mixed with the stream (a network's dropout step).</summary>
    public static ulong StreamKey(ulong seed, ulong stream) => Mix(seed ^ Mix(stream + 0x632BE59BD9B4E019UL));

    /// <summary>The key under which element i is element <paramref name="firstElement"/> + i of the stream: the elements
    /// are hashed at key + index · <see cref="Gamma"/>, so an offset moves the key. A data-parallel rank that holds rows
    /// [o, o + n) of a batch passes o times the row width and draws the rows' masks of the whole batch.</summary>
    public static ulong StreamKey(ulong seed, ulong stream, long firstElement) => unchecked(StreamKey(seed, stream) + (ulong)firstElement * Gamma);

    /// <summary>The rate scaled to 2^24: an element is dropped when its 24 uniform bits fall below it.</summary>
    public static uint Threshold(double rate) => (uint)Math.Round(rate * (1 << 24));

    /// <summary>SplitMix64's increment, ⌊2⁶⁴/φ⌋: consecutive multiples of it spread evenly over 64 bits.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The dropout seed of training step <paramref name="step"/> (counted from 1) of a network whose masks start
    /// from <paramref name="dropoutSeed"/>: the CPU step and its GPU twin draw the same masks from it.</summary>
    public static ulong StepSeed(ulong dropoutSeed, ulong step) => unchecked(dropoutSeed + step * Gamma);

    /// <summary>Whether element <paramref name="index"/> of the mask under <paramref name="key"/> is kept. Plain integer
    /// arithmetic, so GPU kernels call it too and draw the CPU's masks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Keeps(ulong key, long index, uint threshold) =>
        (uint)(Mix(key + (ulong)index * Gamma) >> 40) >= threshold;

    /// <summary>The SplitMix64 finalizer: a bijective mix of 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
