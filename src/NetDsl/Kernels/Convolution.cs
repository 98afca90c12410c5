using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetDsl.Kernels;

/// <summary>The shape of one 2-D convolution or pooling window walk over a C×H×W sample (row-major, as PyTorch).</summary>
/// <param name="Channels">Input channels C.</param>
/// <param name="Height">Input height H.</param>
/// <param name="Width">Input width W.</param>
/// <param name="KernelHeight">Window height.</param>
/// <param name="KernelWidth">Window width.</param>
/// <param name="Stride">Step between windows, both directions.</param>
/// <param name="PadTop">Zero rows above the input (the rest of the vertical padding is below).</param>
/// <param name="PadLeft">Zero columns left of the input.</param>
/// <param name="OutputHeight">Windows per column.</param>
/// <param name="OutputWidth">Windows per row.</param>
public readonly record struct ConvGeometry(int Channels, int Height, int Width, int KernelHeight, int KernelWidth, int Stride,
    int PadTop, int PadLeft, int OutputHeight, int OutputWidth)
{
    /// <summary>Rows of the column matrix: C·KH·KW.</summary>
    public int PatchSize => Channels * KernelHeight * KernelWidth;

    /// <summary>Windows per sample: OH·OW.</summary>
    public int OutputPixels => OutputHeight * OutputWidth;

    /// <summary>Values per input sample.</summary>
    public int InputSize => Channels * Height * Width;
}

/// <summary>Convolution lowered to the shared product: im2col lays each window out as a column, so
/// <c>Z[F, OH·OW] = W[F, C·KH·KW] · columns</c>; col2im adds the columns' gradients back onto the image.</summary>
public static class Convolution
{
    /// <summary>Writes the [C·KH·KW, OH·OW] column matrix of one sample; padding reads as zero.</summary>
    public static void Im2Col<T>(ReadOnlySpan<T> image, Span<T> columns, in ConvGeometry g) where T : unmanaged, INumberBase<T>
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

    /// <summary>For stride 1: the output columns [first, last) whose window column <paramref name="kx"/> falls inside
    /// the image (x = ox + kx − padLeft in [0, W)).</summary>
    static (int First, int Last) InsideColumns(in ConvGeometry g, int kx)
    {
        int first = Math.Clamp(g.PadLeft - kx, 0, g.OutputWidth);
        int last = Math.Clamp(g.Width + g.PadLeft - kx, first, g.OutputWidth);
        return (first, last);
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

/// <summary>Pooling over windows of a batch of C×H×W samples (no padding); global average pooling is the window
/// that covers the whole map.</summary>
public static class Pooling
{
    /// <summary>Each output is its window's maximum; <paramref name="argMax"/> records the winning input's index within
    /// its sample (as a number, so it lives in the same buffers) for the backward pass.</summary>
    public static void MaxForward<T>(ReadOnlySpan<T> input, Span<T> output, Span<T> argMax, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planeSize = g.Height * g.Width, planes = batch * g.Channels;
        if (input.Length < planes * planeSize || output.Length < planes * g.OutputPixels || argMax.Length < planes * g.OutputPixels)
            throw new ArgumentException($"Max pooling of {batch} samples of {g.Channels}×{g.Height}×{g.Width} needs {planes * planeSize} inputs and {planes * g.OutputPixels} outputs, got {input.Length} and {output.Length}.");
        ref T x = ref MemoryMarshal.GetReference(input);
        ref T y = ref MemoryMarshal.GetReference(output);
        ref T winners = ref MemoryMarshal.GetReference(argMax);
        // The geometry in locals: the JIT cannot keep fields of an `in` struct in registers across these stores.
        int width = g.Width, stride = g.Stride, kernelHeight = g.KernelHeight, kernelWidth = g.KernelWidth;
        int outputHeight = g.OutputHeight, outputWidth = g.OutputWidth, outputPixels = g.OutputPixels;
        int channels = g.Channels, sampleSize = g.InputSize;
        for (int plane = 0; plane < planes; plane++)
        {
            int planeStart = plane * planeSize;
            // The winner is stored as an index within its sample.
            int sampleStart = plane / channels * sampleSize;
            int o = plane * outputPixels;
            for (int oy = 0; oy < outputHeight; oy++)
            {
                int rowStart = planeStart + oy * stride * width;
                for (int ox = 0; ox < outputWidth; ox++, o++)
                {
                    int windowStart = rowStart + ox * stride, best = windowStart;
                    T bestValue = Unsafe.Add(ref x, best);
                    for (int ky = 0; ky < kernelHeight; ky++)
                    {
                        int at = windowStart + ky * width;
                        for (int kx = 0; kx < kernelWidth; kx++, at++)
                        {
                            // Branch-free: which input wins is data-dependent and unpredictable.
                            T value = Unsafe.Add(ref x, at);
                            int larger = -Unsafe.BitCast<bool, byte>(value > bestValue);
                            best = (at & larger) | (best & ~larger);
                            bestValue = T.MaxNative(value, bestValue);
                        }
                    }
                    Unsafe.Add(ref y, o) = bestValue;
                    Unsafe.Add(ref winners, o) = Index<T>.From(best - sampleStart);
                }
            }
        }
    }

    /// <summary>Routes each output gradient to the input that won its window; <paramref name="inputGradient"/> is overwritten.</summary>
    public static void MaxBackward<T>(ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> argMax, Span<T> inputGradient, int batch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        inputGradient.Clear();
        int outputs = outputGradient.Length / batch, inputs = inputGradient.Length / batch;
        for (int s = 0; s < batch; s++)
            for (int i = s * outputs; i < (s + 1) * outputs; i++)
                inputGradient[s * inputs + Index<T>.To(argMax[i])] += outputGradient[i];
    }

    /// <summary>Each output is its window's mean.</summary>
    public static void AverageForward<T>(ReadOnlySpan<T> input, Span<T> output, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.One / T.CreateTruncating(g.KernelHeight * g.KernelWidth);
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < g.Channels; c++)
            {
                int plane = (s * g.Channels + c) * g.Height * g.Width;
                int outPlane = (s * g.Channels + c) * g.OutputPixels;
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        T sum = T.Zero;
                        for (int ky = 0; ky < g.KernelHeight; ky++)
                            for (int kx = 0; kx < g.KernelWidth; kx++)
                                sum += input[plane + (oy * g.Stride + ky) * g.Width + ox * g.Stride + kx];
                        output[outPlane + oy * g.OutputWidth + ox] = sum * scale;
                    }
            }
    }

    /// <summary>Spreads each output gradient evenly over its window; <paramref name="inputGradient"/> is overwritten.</summary>
    public static void AverageBackward<T>(ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        inputGradient.Clear();
        T scale = T.One / T.CreateTruncating(g.KernelHeight * g.KernelWidth);
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < g.Channels; c++)
            {
                int plane = (s * g.Channels + c) * g.Height * g.Width;
                int outPlane = (s * g.Channels + c) * g.OutputPixels;
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        T share = outputGradient[outPlane + oy * g.OutputWidth + ox] * scale;
                        for (int ky = 0; ky < g.KernelHeight; ky++)
                            for (int kx = 0; kx < g.KernelWidth; kx++)
                                inputGradient[plane + (oy * g.Stride + ky) * g.Width + ox * g.Stride + kx] += share;
                    }
            }
    }
}


/// <summary>Window winners are stored as numbers of the element type, beside the values. The generic
/// <c>CreateTruncating</c> conversions are not reduced to one instruction by the JIT; these are.</summary>
static class Index<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T From(int index)
    {
        if (typeof(T) == typeof(float)) { float value = index; return Unsafe.As<float, T>(ref value); }
        if (typeof(T) == typeof(double)) { double value = index; return Unsafe.As<double, T>(ref value); }
        return T.CreateTruncating(index);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int To(T value)
    {
        if (typeof(T) == typeof(float)) return (int)Unsafe.As<T, float>(ref value);
        if (typeof(T) == typeof(double)) return (int)Unsafe.As<T, double>(ref value);
        return int.CreateTruncating(value);
    }
}
