using System.ComponentModel;
using System.Numerics;

namespace NetDsl.Kernels;

/// <summary>Embedding lookups: each id read from the network input selects a row of the table, written channels-first
/// (one channel per component, the ids along the length) as a 1-D convolution reads it.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Embedding
{
    /// <summary>output[s, d, p] = table[id(s, p), d] for <paramref name="batch"/> samples of <paramref name="length"/>
    /// ids. An id that is not a whole number in [0, <paramref name="vocabulary"/>) throws, naming its sample and position,
    /// before anything is written.</summary>
    public static void Forward<T>(ReadOnlySpan<T> ids, ReadOnlySpan<T> table, Span<T> output, int batch, int length, int dimension, int vocabulary)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckIds(ids[..(batch * length)], length, vocabulary);
        for (int s = 0; s < batch; s++)
            for (int p = 0; p < length; p++)
            {
                var row = table.Slice((int)double.CreateTruncating(ids[s * length + p]) * dimension, dimension);
                var sample = output.Slice(s * dimension * length, dimension * length);
                for (int d = 0; d < dimension; d++) sample[d * length + p] = row[d];
            }
    }

    /// <summary>The table's gradient: each position's output gradient added to its id's row, the rest left zero (the
    /// rows no id in the batch names get no gradient, as PyTorch's dense embedding gradient).</summary>
    public static void Backward<T>(ReadOnlySpan<T> ids, ReadOnlySpan<T> outputGradient, Span<T> tableGradient, int batch, int length, int dimension)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        tableGradient.Clear();
        for (int s = 0; s < batch; s++)
            for (int p = 0; p < length; p++)
            {
                var row = tableGradient.Slice((int)double.CreateTruncating(ids[s * length + p]) * dimension, dimension);
                var sample = outputGradient.Slice(s * dimension * length, dimension * length);
                for (int d = 0; d < dimension; d++) row[d] += sample[d * length + p];
            }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the sample and position of the first value of
    /// <paramref name="ids"/> that is not a whole number in [0, <paramref name="vocabulary"/>).</summary>
    public static void CheckIds<T>(ReadOnlySpan<T> ids, int length, int vocabulary) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < ids.Length; i++)
        {
            double id = double.CreateTruncating(ids[i]);
            if (!(id >= 0 && id < vocabulary) || id != Math.Floor(id))
                throw new ArgumentException(
                    $"Sample {i / length}, position {i % length}: {id} is not an id in [0, {vocabulary}); an Embedding reads whole numbers below its vocabulary.",
                    "inputs");
        }
    }
}
