using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Convolution lowered to the shared product: im2col lays each window out as a column, so
/// <c>Z[F, OH·OW] = W[F, C·KH·KW] · columns</c>; col2im adds the columns' gradients back onto the image.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Convolution
{
    /// <summary>One sample's product <c>W · im2col(image)</c> into <paramref name="epilogue"/>: by Winograd's F(2×2, 3×3)
    /// from <paramref name="transformed"/> (the same filters, by <see cref="Winograd.TransformWeights"/>) where given and
    /// <see cref="Winograd.Applies"/> holds; else packed straight from the image where <see cref="Gemm.PacksPatches"/>
    /// holds; else through the column matrix written into <paramref name="columns"/>.</summary>
    public static void Forward<T, TEpilogue>(ReadOnlySpan<T> weights, ReadOnlySpan<T> image, Span<T> columns, in ConvGeometry g,
        int filters, ref TEpilogue epilogue, ReadOnlySpan<float> transformed = default)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (!transformed.IsEmpty && Winograd.Applies<T>(g, filters))
        {
            Winograd.Forward(transformed, image, g, filters, ref epilogue);
            return;
        }
        if (Gemm.PacksPatches<T>(g))
        {
            Gemm.MultiplyPatches(weights, image, g, filters, ref epilogue);
            return;
        }
        Im2Col(image, columns, g);
        Gemm.Multiply(weights, transposeA: false, columns, transposeB: false, filters, g.OutputPixels, g.PatchSize, ref epilogue);
    }

    /// <summary>One sample's backward through a convolution: dW (and, with <paramref name="biasGradient"/>, db) from dZ
    /// and the sample's columns, accumulated after the first sample (the regularization gradient joins when not
    /// accumulating), and the image's gradient Wᵀ·dZ put back by col2im into <paramref name="imageGradient"/> (skipped
    /// when empty). With <paramref name="transposedWeightGradient"/> dW is taken as dWᵀ = columns · dZᵀ, the filters as
    /// the product's columns, for a narrow patch beside many filters (no bias then). With
    /// <paramref name="transformedInputGradient"/> (<see cref="Winograd.TransformInputGradientWeights"/>) the image's
    /// gradient is the input gradient's own convolution by Winograd's F(2×2, 3×3), where that applies.</summary>
    public static void SampleBackward<T>(ReadOnlySpan<T> weights, ReadOnlySpan<T> image, ReadOnlySpan<T> dz, Span<T> columns, Span<T> columnGradient,
        Span<T> weightGradient, Span<T> biasGradient, Span<T> imageGradient, in ConvGeometry g, int filters, bool accumulate, T l1, T l2,
        bool transposedWeightGradient = false, ReadOnlySpan<float> transformedInputGradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Im2Col(image, columns, g);
        if (transposedWeightGradient)
        {
            var transposed = new TransposedWeightGradientEpilogue<T>(weightGradient, g.PatchSize, accumulate, weights, l1, l2);
            Gemm.Multiply(columns, transposeA: false, dz, transposeB: true, g.PatchSize, filters, g.OutputPixels, ref transposed);
        }
        else
        {
            var gradient = new WeightGradientEpilogue<T>(weightGradient, biasGradient, g.PatchSize, accumulate, weights, l1, l2);
            Gemm.Multiply(dz, transposeA: false, columns, transposeB: true, filters, g.PatchSize, g.OutputPixels, ref gradient, appendOnesColumn: !biasGradient.IsEmpty);
        }
        if (imageGradient.IsEmpty) return;
        if (!transformedInputGradient.IsEmpty && Winograd.AppliesToInputGradient<T>(g, filters))
        {
            var gradient = new StoreEpilogue<T>(imageGradient, g.Height * g.Width);
            Winograd.Forward(transformedInputGradient, dz, g.InputGradientGeometry(filters), g.Channels, ref gradient);
            return;
        }
        var store = new StoreEpilogue<T>(columnGradient, g.OutputPixels);
        Gemm.Multiply(weights, transposeA: true, dz, transposeB: false, g.PatchSize, g.OutputPixels, filters, ref store);
        Col2Im(columnGradient, imageGradient, g);
    }

    /// <summary>Writes the [C·KH·KW, OH·OW] column matrix of one sample; padding reads as zero.</summary>
    public static void Im2Col<T>(ReadOnlySpan<T> image, Span<T> columns, in ConvGeometry g) where T : unmanaged, INumberBase<T>
    {
        int pixels = g.OutputPixels;
        bool shifted = g.Stride == 1 && g.OutputWidth == g.Width;
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelHeight; ky++)
                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    var row = columns.Slice(((c * g.KernelHeight + ky) * g.KernelWidth + kx) * pixels, pixels);
                    if (shifted)
                    {
                        CopyShiftedTap(image.Slice(c * g.Height * g.Width, g.Height * g.Width), row, g, ky, kx);
                        continue;
                    }
                    for (int oy = 0; oy < g.OutputHeight; oy++)
                    {
                        int y = oy * g.Stride + ky - g.PadTop;
                        var destination = row.Slice(oy * g.OutputWidth, g.OutputWidth);
                        if ((uint)y >= (uint)g.Height)
                        {
                            destination.Clear();
                            continue;
                        }
                        var source = image.Slice((c * g.Height + y) * g.Width, g.Width);
                        if (g.Stride == 1)
                        {
                            // One contiguous run of the source row, zeros where the window hangs over the padding.
                            var (first, last) = InsideColumns(g, kx);
                            destination[..first].Clear();
                            source.Slice(first + kx - g.PadLeft, last - first).CopyTo(destination[first..]);
                            destination[last..].Clear();
                            continue;
                        }
                        for (int ox = 0; ox < g.OutputWidth; ox++)
                        {
                            int x = ox * g.Stride + kx - g.PadLeft;
                            destination[ox] = (uint)x < (uint)g.Width ? source[x] : T.Zero;
                        }
                    }
                }
    }

    /// <summary>At stride 1 with the output as wide as the input, a tap's row of the column matrix is the channel's
    /// plane shifted by (ky − padTop)·W + kx − padLeft: one contiguous copy, then zeros where the window hangs over the
    /// padding (whole rows above and below, and the columns that wrapped into the neighbouring image row).</summary>
    static void CopyShiftedTap<T>(ReadOnlySpan<T> plane, Span<T> row, in ConvGeometry g, int ky, int kx) where T : unmanaged, INumberBase<T>
    {
        var (start, end) = ShiftedRange(plane.Length, g, ky, kx, out int shift);
        row[..start].Clear();
        row[end..].Clear();
        if (end > start) plane.Slice(start + shift, end - start).CopyTo(row.Slice(start));
        ZeroWrappedColumns(row, start, end, g, kx);
    }

    /// <summary>Zeroes, in the image rows that [start, end) of a shifted tap's row touches, the columns whose window
    /// column <paramref name="kx"/> falls outside the image (in the shifted run they hold the neighbouring row's pixels).</summary>
    static void ZeroWrappedColumns<T>(Span<T> row, int start, int end, in ConvGeometry g, int kx) where T : unmanaged, INumberBase<T>
    {
        int width = g.Width;
        var (first, last) = InsideColumns(g, kx);
        ref T values = ref MemoryMarshal.GetReference(row);
        for (int at = start / width * width; at < end; at += width)
        {
            for (int ox = 0; ox < first; ox++) Unsafe.Add(ref values, at + ox) = T.Zero;
            for (int ox = last; ox < width; ox++) Unsafe.Add(ref values, at + ox) = T.Zero;
        }
    }

    /// <summary>The range of a shifted tap's row whose source lies in the plane: the output rows whose window row is
    /// inside the image, trimmed where the shift would read before or past the plane (only wrapped columns are trimmed,
    /// and those read as zero).</summary>
    static (int Start, int End) ShiftedRange(int planeLength, in ConvGeometry g, int ky, int kx, out int shift)
    {
        int width = g.Width;
        int firstRow = Math.Clamp(g.PadTop - ky, 0, g.OutputHeight);
        int lastRow = Math.Clamp(g.Height + g.PadTop - ky, firstRow, g.OutputHeight);
        shift = (ky - g.PadTop) * width + kx - g.PadLeft;
        int start = Math.Max(firstRow * width, -shift);
        int end = Math.Max(start, Math.Min(lastRow * width, planeLength - shift));
        return (start, end);
    }

    /// <summary>For stride 1: the output columns [first, last) whose window column <paramref name="kx"/> falls inside
    /// the image (x = ox + kx − padLeft in [0, W)).</summary>
    static (int First, int Last) InsideColumns(in ConvGeometry g, int kx)
    {
        int first = Math.Clamp(g.PadLeft - kx, 0, g.OutputWidth);
        int last = Math.Clamp(g.Width + g.PadLeft - kx, first, g.OutputWidth);
        return (first, last);
    }

    /// <summary>Writes the image gradient from the column-matrix gradient (the adjoint of <see cref="Im2Col"/>),
    /// overwriting <paramref name="image"/>. At stride 1 with the output as large as the input, the tap at (padTop,
    /// padLeft) reads every pixel at its own place, so that tap's row is copied in and the others are added: no
    /// clearing pass. Otherwise the image is cleared and every tap added.</summary>
    /// <remarks>In that case <paramref name="columns"/> serves as scratch: its entries that stand for padding are
    /// zeroed, so each tap's row is added back as one contiguous shifted run.</remarks>
    public static void Col2Im<T>(Span<T> columns, Span<T> image, in ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool identityTap = g.Stride == 1 && g.OutputHeight == g.Height && g.OutputWidth == g.Width
            && g.PadTop < g.KernelHeight && g.PadLeft < g.KernelWidth;
        if (!identityTap)
        {
            image[..g.InputSize].Clear();
            Col2ImAdd(columns, image, g);
            return;
        }
        int pixels = g.OutputPixels;
        for (int c = 0; c < g.Channels; c++)
        {
            int identity = (c * g.KernelHeight + g.PadTop) * g.KernelWidth + g.PadLeft;
            var plane = image.Slice(c * pixels, pixels);
            columns.Slice(identity * pixels, pixels).CopyTo(plane);
            for (int ky = 0; ky < g.KernelHeight; ky++)
                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    int tap = (c * g.KernelHeight + ky) * g.KernelWidth + kx;
                    if (tap != identity) AddShiftedTap(columns.Slice(tap * pixels, pixels), plane, g, ky, kx);
                }
        }
    }

    /// <summary>The adjoint of <see cref="CopyShiftedTap"/>: zeroes the row's wrapped columns (they stand for padding),
    /// then adds the row to the plane as one shifted run.</summary>
    static void AddShiftedTap<T>(Span<T> row, Span<T> plane, in ConvGeometry g, int ky, int kx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (start, end) = ShiftedRange(plane.Length, g, ky, kx, out int shift);
        if (end <= start) return;
        ZeroWrappedColumns(row, start, end, g, kx);
        Arithmetic.Add(plane.Slice(start + shift, end - start), row[start..end]);
    }

    /// <summary>Adds each column-matrix gradient back to the image position it was read from (the adjoint of
    /// <see cref="Im2Col"/>); <paramref name="image"/> is accumulated into, so clear it first.</summary>
    public static void Col2ImAdd<T>(ReadOnlySpan<T> columns, Span<T> image, in ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pixels = g.OutputPixels;
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelHeight; ky++)
                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    var row = columns.Slice(((c * g.KernelHeight + ky) * g.KernelWidth + kx) * pixels, pixels);
                    for (int oy = 0; oy < g.OutputHeight; oy++)
                    {
                        int y = oy * g.Stride + ky - g.PadTop;
                        if ((uint)y >= (uint)g.Height) continue;
                        var destination = image.Slice((c * g.Height + y) * g.Width, g.Width);
                        var source = row.Slice(oy * g.OutputWidth, g.OutputWidth);
                        if (g.Stride == 1)
                        {
                            var (first, last) = InsideColumns(g, kx);
                            Arithmetic.Add(destination.Slice(first + kx - g.PadLeft, last - first), source[first..last]);
                            continue;
                        }
                        for (int ox = 0; ox < g.OutputWidth; ox++)
                        {
                            int x = ox * g.Stride + kx - g.PadLeft;
                            if ((uint)x < (uint)g.Width) destination[x] += source[ox];
                        }
                    }
                }
    }
}
