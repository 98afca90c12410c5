using System.ComponentModel;
using System.Numerics;

namespace NetDsl.Kernels;

/// <summary>Concatenation along the first dimension of each sample: its values are the first input's, then the
/// second's, so a join of channel maps or feature vectors is two contiguous copies per sample.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Concatenation
{
    /// <summary>output[s] = [first[s] (<paramref name="firstWidth"/> values), second[s] (<paramref name="secondWidth"/>)].</summary>
    public static void Forward<T>(ReadOnlySpan<T> first, ReadOnlySpan<T> second, Span<T> output, int batch, int firstWidth, int secondWidth)
        where T : unmanaged
    {
        int width = firstWidth + secondWidth;
        for (int s = 0; s < batch; s++)
        {
            first.Slice(s * firstWidth, firstWidth).CopyTo(output.Slice(s * width, firstWidth));
            second.Slice(s * secondWidth, secondWidth).CopyTo(output.Slice(s * width + firstWidth, secondWidth));
        }
    }

    /// <summary>The first input's gradient: each sample's leading <paramref name="firstWidth"/> values of
    /// <paramref name="gradient"/>, written into <paramref name="firstGradient"/>.</summary>
    public static void FirstGradient<T>(ReadOnlySpan<T> gradient, Span<T> firstGradient, int batch, int firstWidth, int secondWidth)
        where T : unmanaged
    {
        int width = firstWidth + secondWidth;
        for (int s = 0; s < batch; s++)
            gradient.Slice(s * width, firstWidth).CopyTo(firstGradient.Slice(s * firstWidth, firstWidth));
    }

    /// <summary>Adds the second input's part of <paramref name="gradient"/> (each sample's values after the first
    /// <paramref name="firstWidth"/>) to <paramref name="secondGradient"/>, where the rest of its gradient arrived.</summary>
    public static void AddSecondGradient<T>(Span<T> secondGradient, ReadOnlySpan<T> gradient, int batch, int firstWidth, int secondWidth)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = firstWidth + secondWidth;
        for (int s = 0; s < batch; s++)
            Arithmetic.Add(secondGradient.Slice(s * secondWidth, secondWidth), gradient.Slice(s * width + firstWidth, secondWidth));
    }
}
