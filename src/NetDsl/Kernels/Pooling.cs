using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Pooling over windows of a batch of C×H×W samples (no padding); global average pooling is the window
/// that covers the whole map.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class Pooling
{
    /// <summary>Each output is its window's maximum; <paramref name="argMax"/> records the winning input's index within
    /// its sample (as a number, so it lives in the same buffers) for the backward pass. Ties go to the first input in
    /// row-major window order. A large batch's planes are shared between the cores.</summary>
    public static void MaxForward<T>(ReadOnlySpan<T> input, Span<T> output, Span<T> argMax, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planeSize = g.Height * g.Width, planes = batch * g.Channels;
        if (input.Length < planes * planeSize || output.Length < planes * g.OutputPixels || argMax.Length < planes * g.OutputPixels)
            throw new ArgumentException($"Max pooling of {batch} samples of {g.Channels}×{g.Height}×{g.Width} needs {planes * planeSize} inputs and {planes * g.OutputPixels} outputs, got {input.Length} and {output.Length}.");
        var job = new MaxJob<T>(input, output, argMax, g, planes);
        WorkSharing.Split(ref job, planes, share: (long)planes * planeSize >= SharedPoolingThreshold);
    }

    const long SharedPoolingThreshold = SharingTuning.PoolingInputs;

    ref struct MaxJob<T>(ReadOnlySpan<T> input, Span<T> output, Span<T> argMax, ConvGeometry geometry, int planes) : ISampleLoop
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly ReadOnlySpan<T> Input = input;
        public readonly Span<T> Output = output, ArgMax = argMax;
        public readonly ConvGeometry Geometry = geometry;
        public readonly int Planes = planes;

        public void Run(int first, int last, int part) => MaxForwardPlanes(ref this, first, last);
    }

    static void MaxForwardPlanes<T>(ref MaxJob<T> job, int firstPlane, int lastPlane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref readonly var g = ref job.Geometry;
        ref T x = ref MemoryMarshal.GetReference(job.Input);
        ref T y = ref MemoryMarshal.GetReference(job.Output);
        ref T winners = ref MemoryMarshal.GetReference(job.ArgMax);
        // The geometry in locals: the JIT cannot keep fields of an `in` struct in registers across these stores.
        int width = g.Width, stride = g.Stride, kernelHeight = g.KernelHeight, kernelWidth = g.KernelWidth;
        int outputHeight = g.OutputHeight, outputWidth = g.OutputWidth, outputPixels = g.OutputPixels;
        int channels = g.Channels, sampleSize = g.InputSize, planeSize = g.Height * g.Width;
        int height = g.Height;
        // With RoundingMode.Ceil the last windows overhang the input and cover only its inside.
        bool pairs = typeof(T) == typeof(float) && Avx512F.IsSupported && kernelHeight == 2 && kernelWidth == 2 && stride == 2 && !g.Overhangs;
        // Sixteen outputs at a time may run past a row's end into the next row (rewritten when that row is done),
        // never past this part's last output nor its inputs' end.
        int outputEnd = lastPlane * outputPixels, inputLength = job.Input.Length;
        for (int plane = firstPlane; plane < lastPlane; plane++)
        {
            int planeStart = plane * planeSize;
            // The winner is stored as an index within its sample.
            int sampleStart = plane / channels * sampleSize;
            int o = plane * outputPixels;
            for (int oy = 0; oy < outputHeight; oy++)
            {
                int rowStart = planeStart + oy * stride * width;
                int ox = 0;
                if (pairs)
                    for (; ox < outputWidth && o + 16 <= outputEnd && rowStart + 2 * ox + width + 32 <= inputLength; ox += 16, o += 16)
                        MaxPairs16(ref Unsafe.As<T, float>(ref Unsafe.Add(ref x, rowStart + 2 * ox)), width,
                            rowStart + 2 * ox - sampleStart, ref Unsafe.As<T, float>(ref Unsafe.Add(ref y, o)),
                            ref Unsafe.As<T, float>(ref Unsafe.Add(ref winners, o)));
                if (ox > outputWidth)
                {
                    // The last vector ran into the next row: step back to this row's end.
                    o -= ox - outputWidth;
                    continue;
                }
                for (; ox < outputWidth; ox++, o++)
                {
                    int windowStart = rowStart + ox * stride, best = windowStart;
                    int rows = Math.Min(kernelHeight, height - oy * stride), columns = Math.Min(kernelWidth, width - ox * stride);
                    T bestValue = Unsafe.Add(ref x, best);
                    for (int ky = 0; ky < rows; ky++)
                    {
                        int at = windowStart + ky * width;
                        for (int kx = 0; kx < columns; kx++, at++)
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

    static readonly Vector512<int> EvenLanes = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    static readonly Vector512<int> OddLanes = EvenLanes + Vector512<int>.One;

    /// <summary>Sixteen 2×2 stride-2 windows side by side: the top row's 32 inputs at <paramref name="top"/>, the bottom
    /// row's <paramref name="width"/> further. Candidates are taken in the scalar loop's order, and a later one wins only
    /// when strictly larger, so ties and NaNs resolve as there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void MaxPairs16(ref float top, int width, int firstIndex, ref float output, ref float winners)
    {
        var topLow = Vector512.LoadUnsafe(ref top);
        var topHigh = Vector512.LoadUnsafe(ref top, 16);
        var bottomLow = Vector512.LoadUnsafe(ref top, (nuint)width);
        var bottomHigh = Vector512.LoadUnsafe(ref top, (nuint)(width + 16));
        var best = Avx512F.PermuteVar16x32x2(topLow, EvenLanes, topHigh);
        var first = Vector512.Create(firstIndex) + EvenLanes; // each window's top-left input
        var index = first;
        Take(ref best, ref index, Avx512F.PermuteVar16x32x2(topLow, OddLanes, topHigh), first + Vector512<int>.One);
        Take(ref best, ref index, Avx512F.PermuteVar16x32x2(bottomLow, EvenLanes, bottomHigh), first + Vector512.Create(width));
        Take(ref best, ref index, Avx512F.PermuteVar16x32x2(bottomLow, OddLanes, bottomHigh), first + Vector512.Create(width + 1));
        best.StoreUnsafe(ref output);
        Vector512.ConvertToSingle(index).StoreUnsafe(ref winners);

        static void Take(ref Vector512<float> best, ref Vector512<int> index, Vector512<float> candidate, Vector512<int> at)
        {
            var larger = Vector512.GreaterThan(candidate, best);
            best = Vector512.ConditionalSelect(larger, candidate, best);
            index = Vector512.ConditionalSelect(larger.AsInt32(), at, index);
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

    /// <summary>Routes each output gradient to the input that won its window, knowing the windows: 2×2 windows of
    /// stride 2 that tile the input write every input once (the gradient or zero) in vectors, with no clearing pass;
    /// other windows clear and scatter. A large batch's planes are shared between the cores.</summary>
    /// <param name="outputGradient">∂L/∂ of the pooled outputs.</param>
    /// <param name="argMax">Per pooled output, the position of its window's winner within the sample's input, stored as a value of the element type.</param>
    /// <param name="inputGradient">∂L/∂ of the pooling's inputs; every element is written.</param>
    /// <param name="batch">Samples in the batch.</param>
    /// <param name="g">The pooling windows.</param>
    /// <param name="reluOutputs">When the pooled inputs are a ReLU's outputs, the pooled values: a gradient passes only
    /// where its window's maximum is positive, which is the ReLU's derivative at the winner (every other input gets
    /// zero anyway), so the ReLU's own backward pass over the larger input is not needed.</param>
    public static void MaxBackward<T>(ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> argMax, Span<T> inputGradient, int batch,
        in ConvGeometry g, ReadOnlySpan<T> reluOutputs = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planeSize = g.Height * g.Width, planes = batch * g.Channels;
        if (inputGradient.Length < planes * planeSize || outputGradient.Length < planes * g.OutputPixels || argMax.Length < planes * g.OutputPixels)
            throw new ArgumentException($"Max pooling backward over {batch} samples of {g.Channels}×{g.Height}×{g.Width} needs {planes * g.OutputPixels} output gradients and {planes * planeSize} input gradients, got {outputGradient.Length} and {inputGradient.Length}.");
        if (!reluOutputs.IsEmpty && reluOutputs.Length < planes * g.OutputPixels)
            throw new ArgumentException($"The pooled ReLU outputs hold {reluOutputs.Length} values but {batch} samples need {planes * g.OutputPixels}.", nameof(reluOutputs));
        var job = new RouteJob<T>(outputGradient, argMax, reluOutputs, inputGradient, g, planes);
        WorkSharing.Split(ref job, planes, share: (long)planes * planeSize >= SharedPoolingThreshold);
    }

    ref struct RouteJob<T>(ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> winners, ReadOnlySpan<T> reluOutputs, Span<T> inputGradient,
        ConvGeometry geometry, int planes) : ISampleLoop where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly ReadOnlySpan<T> OutputGradient = outputGradient, Winners = winners, ReluOutputs = reluOutputs;
        public readonly Span<T> InputGradient = inputGradient;
        public readonly ConvGeometry Geometry = geometry;
        public readonly int Planes = planes;

        public void Run(int first, int last, int part) => MaxBackwardPlanes(ref this, first, last);
    }

    static void MaxBackwardPlanes<T>(ref RouteJob<T> job, int firstPlane, int lastPlane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref readonly var g = ref job.Geometry;
        int planeSize = g.Height * g.Width, outputPixels = g.OutputPixels, width = g.Width, outputWidth = g.OutputWidth;
        int channels = g.Channels, sampleSize = g.InputSize;
        ref T dy = ref MemoryMarshal.GetReference(job.OutputGradient);
        ref T dx = ref MemoryMarshal.GetReference(job.InputGradient);
        ref T winners = ref MemoryMarshal.GetReference(job.Winners);
        ref T pooled = ref MemoryMarshal.GetReference(job.ReluOutputs);
        bool gated = !job.ReluOutputs.IsEmpty;
        bool tiled = g.KernelHeight == 2 && g.KernelWidth == 2 && g.Stride == 2 && g.Height == 2 * g.OutputHeight && width == 2 * outputWidth;
        if (!tiled)
        {
            job.InputGradient.Slice(firstPlane * planeSize, (lastPlane - firstPlane) * planeSize).Clear();
            for (int plane = firstPlane; plane < lastPlane; plane++)
            {
                int sampleStart = plane / channels * sampleSize;
                for (int o = plane * outputPixels; o < (plane + 1) * outputPixels; o++)
                    if (!gated || Unsafe.Add(ref pooled, o) > T.Zero)
                        Unsafe.Add(ref dx, sampleStart + Index<T>.To(Unsafe.Add(ref winners, o))) += Unsafe.Add(ref dy, o);
            }
            return;
        }
        bool vectors = typeof(T) == typeof(float) && Avx512F.IsSupported;
        // Sixteen windows at a time may run past a row pair into the next (rewritten when that pair is done), never past
        // this part's planes. Only a row's first vector may be partial: the top row's overrun lands in the bottom row,
        // which that vector writes next, where a later one would overwrite what an earlier one wrote there.
        int outputEnd = lastPlane * outputPixels, inputEnd = lastPlane * planeSize;
        for (int plane = firstPlane; plane < lastPlane; plane++)
        {
            int planeStart = plane * planeSize, sampleStart = plane / channels * sampleSize;
            int o = plane * outputPixels;
            for (int oy = 0; oy < g.OutputHeight; oy++)
            {
                int top = planeStart + 2 * oy * width;
                int ox = 0;
                if (vectors)
                    for (; (ox + 16 <= outputWidth || ox == 0) && o + 16 <= outputEnd && top + 2 * ox + width + 32 <= inputEnd; ox += 16, o += 16)
                        RoutePairs16(ref Unsafe.As<T, float>(ref Unsafe.Add(ref dy, o)), ref Unsafe.As<T, float>(ref Unsafe.Add(ref winners, o)),
                            gated, ref Unsafe.As<T, float>(ref Unsafe.Add(ref pooled, gated ? o : 0)),
                            top + 2 * ox - sampleStart, width, ref Unsafe.As<T, float>(ref Unsafe.Add(ref dx, top + 2 * ox)));
                if (ox > outputWidth)
                {
                    // The last vector ran into the next row pair: step back to this row's end.
                    o -= ox - outputWidth;
                    continue;
                }
                for (; ox < outputWidth; ox++, o++)
                {
                    int at = top + 2 * ox, winner = sampleStart + Index<T>.To(Unsafe.Add(ref winners, o));
                    T gradient = !gated || Unsafe.Add(ref pooled, o) > T.Zero ? Unsafe.Add(ref dy, o) : T.Zero;
                    Unsafe.Add(ref dx, at) = winner == at ? gradient : T.Zero;
                    Unsafe.Add(ref dx, at + 1) = winner == at + 1 ? gradient : T.Zero;
                    Unsafe.Add(ref dx, at + width) = winner == at + width ? gradient : T.Zero;
                    Unsafe.Add(ref dx, at + width + 1) = winner == at + width + 1 ? gradient : T.Zero;
                }
            }
        }
    }

    static readonly Vector512<int> LowInterleave = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    static readonly Vector512<int> HighInterleave = LowInterleave + Vector512.Create(8);

    /// <summary>Sixteen 2×2 stride-2 windows: each gradient goes to its winner (given as an index within the sample;
    /// the first window's top-left input is <paramref name="firstIndex"/>), zero to the other three, as the top row's 32
    /// values at <paramref name="top"/> and the bottom row's <paramref name="width"/> further. With
    /// <paramref name="gated"/>, a gradient whose pooled value (at <paramref name="pooled"/>) is not positive is zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void RoutePairs16(ref float outputGradient, ref float winners, bool gated, ref float pooled, int firstIndex, int width, ref float top)
    {
        var gradient = Vector512.LoadUnsafe(ref outputGradient);
        if (gated)
            gradient = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref pooled), Vector512<float>.Zero), gradient, Vector512<float>.Zero);
        var offset = Vector512.ConvertToInt32(Vector512.LoadUnsafe(ref winners)) - (Vector512.Create(firstIndex) + EvenLanes);
        var topLeft = Vector512.ConditionalSelect(Vector512.Equals(offset, Vector512<int>.Zero).AsSingle(), gradient, Vector512<float>.Zero);
        var topRight = Vector512.ConditionalSelect(Vector512.Equals(offset, Vector512<int>.One).AsSingle(), gradient, Vector512<float>.Zero);
        var bottomLeft = Vector512.ConditionalSelect(Vector512.Equals(offset, Vector512.Create(width)).AsSingle(), gradient, Vector512<float>.Zero);
        var bottomRight = Vector512.ConditionalSelect(Vector512.Equals(offset, Vector512.Create(width + 1)).AsSingle(), gradient, Vector512<float>.Zero);
        Avx512F.PermuteVar16x32x2(topLeft, LowInterleave, topRight).StoreUnsafe(ref top);
        Avx512F.PermuteVar16x32x2(topLeft, HighInterleave, topRight).StoreUnsafe(ref top, 16);
        Avx512F.PermuteVar16x32x2(bottomLeft, LowInterleave, bottomRight).StoreUnsafe(ref top, (nuint)width);
        Avx512F.PermuteVar16x32x2(bottomLeft, HighInterleave, bottomRight).StoreUnsafe(ref top, (nuint)(width + 16));
    }

    /// <summary>Each output is its window's mean.</summary>
    public static void AverageForward<T>(ReadOnlySpan<T> input, Span<T> output, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < g.Channels; c++)
            {
                int plane = (s * g.Channels + c) * g.Height * g.Width;
                int outPlane = (s * g.Channels + c) * g.OutputPixels;
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        var (rows, columns) = g.WindowInside(oy, ox);
                        T sum = T.Zero;
                        for (int ky = 0; ky < rows; ky++)
                            for (int kx = 0; kx < columns; kx++)
                                sum += input[plane + (oy * g.Stride + ky) * g.Width + ox * g.Stride + kx];
                        output[outPlane + oy * g.OutputWidth + ox] = sum * (T.One / T.CreateTruncating(rows * columns));
                    }
            }
    }

    /// <summary>Spreads each output gradient evenly over its window; <paramref name="inputGradient"/> is overwritten.</summary>
    public static void AverageBackward<T>(ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        inputGradient.Clear();
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < g.Channels; c++)
            {
                int plane = (s * g.Channels + c) * g.Height * g.Width;
                int outPlane = (s * g.Channels + c) * g.OutputPixels;
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        var (rows, columns) = g.WindowInside(oy, ox);
                        T share = outputGradient[outPlane + oy * g.OutputWidth + ox] * (T.One / T.CreateTruncating(rows * columns));
                        for (int ky = 0; ky < rows; ky++)
                            for (int kx = 0; kx < columns; kx++)
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
