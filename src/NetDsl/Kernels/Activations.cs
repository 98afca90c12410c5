using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Vectorized activation functions and their backward steps, in place. Each backward step takes the
/// activation's output <c>a</c>, from which its derivative follows: ReLU′ = [a &gt; 0], LeakyReLU′ = [a &gt; 0] + s[a ≤ 0],
/// σ′ = a(1 − a), tanh′ = 1 − a², ELU′ = a + α where a ≤ 0, SELU′ = λ or a + λα.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Activations
{
    /// <summary>SELU's λ (Klambauer et al. 2017), so that activations keep mean 0 and variance 1.</summary>
    public const double SeluScale = 1.0507009873554804934193349852946;

    /// <summary>SELU's α.</summary>
    public const double SeluAlpha = 1.6732632423543772848170429916717;

    /// <summary>λα, SELU's value as its input goes to −∞ and the offset of its derivative below zero.</summary>
    public const double SeluScaledAlpha = SeluScale * SeluAlpha;

    /// <summary>The constants as floats, for the GPU kernels (generated code names them rather than repeating digits).</summary>
    public const float SeluScaleF = (float)SeluScale, SeluAlphaF = (float)SeluAlpha, SeluScaledAlphaF = (float)SeluScaledAlpha;

    /// <summary>values ← max(0, values).</summary>
    public static void ReLU<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, ReLUForward>(values);

    /// <summary>gradient ← gradient ⊙ [output &gt; 0].</summary>
    public static void ReLUBackward<T>(Span<T> gradient, ReadOnlySpan<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, LeakyReLUDerivative>(gradient, output, T.Zero);

    /// <summary>values ← values where positive, slope·values elsewhere (slope ≥ 0).</summary>
    public static void LeakyReLU<T>(Span<T> values, T slope) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, LeakyReLUForward>(values, slope);

    /// <summary>gradient ← gradient where output &gt; 0, slope·gradient elsewhere.</summary>
    public static void LeakyReLUBackward<T>(Span<T> gradient, ReadOnlySpan<T> output, T slope) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, LeakyReLUDerivative>(gradient, output, slope);

    /// <summary>values ← values where positive, α(e^values − 1) elsewhere.</summary>
    public static void ELU<T>(Span<T> values, T alpha) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, ELUForward>(values, alpha);

    /// <summary>gradient ← gradient where output &gt; 0, gradient·(output + α) elsewhere.</summary>
    public static void ELUBackward<T>(Span<T> gradient, ReadOnlySpan<T> output, T alpha) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, ELUDerivative>(gradient, output, alpha);

    /// <summary>values ← λ·ELU_α(values) with SELU's fixed λ and α.</summary>
    public static void SELU<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Elementwise.Map<T, ELUForward>(values, T.CreateTruncating(SeluAlpha));
        Elementwise.Map<T, ScaleOperator>(values, T.CreateTruncating(SeluScale));
    }

    /// <summary>gradient ← λ·gradient where output &gt; 0, gradient·(output + λα) elsewhere.</summary>
    public static void SELUBackward<T>(Span<T> gradient, ReadOnlySpan<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, SELUDerivative>(gradient, output, T.CreateTruncating(SeluScale));

    /// <summary>Parametric ReLU over a batch of (channels × spatial) samples: output = z where z &gt; 0, a_c·z elsewhere.</summary>
    public static void PReLU<T>(ReadOnlySpan<T> input, Span<T> output, ReadOnlySpan<T> slopes, int batch, int channels, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < channels; c++)
            {
                int at = (s * channels + c) * spatial;
                Elementwise.CopyThen<T, LeakyReLUForward>(input.Slice(at, spatial), output.Slice(at, spatial), slopes[c]);
            }
    }

    /// <summary>PReLU backward: dz = g where z &gt; 0, a_c·g elsewhere (into <paramref name="inputGradient"/>), and
    /// da_c = Σ g·z over z ≤ 0 (into <paramref name="slopeGradient"/>), from the pre-activation z.</summary>
    public static void PReLUBackward<T>(ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> input, ReadOnlySpan<T> slopes, Span<T> inputGradient,
        Span<T> slopeGradient, int batch, int channels, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        slopeGradient.Clear();
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < channels; c++)
            {
                int at = (s * channels + c) * spatial;
                T slope = slopes[c], sum = T.Zero;
                for (int p = at; p < at + spatial; p++)
                {
                    T g = outputGradient[p], z = input[p];
                    if (z > T.Zero) inputGradient[p] = g;
                    else
                    {
                        inputGradient[p] = slope * g;
                        sum += g * z;
                    }
                }
                slopeGradient[c] += sum;
            }
    }

    /// <summary>values ← 1 / (1 + e^(−values)).</summary>
    public static void Sigmoid<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, SigmoidForward>(values);

    /// <summary>gradient ← gradient ⊙ output ⊙ (1 − output).</summary>
    public static void SigmoidBackward<T>(Span<T> gradient, ReadOnlySpan<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, SigmoidDerivative>(gradient, output);

    /// <summary>values ← tanh(values).</summary>
    public static void Tanh<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, TanhForward>(values);

    /// <summary>gradient ← gradient ⊙ (1 − output²).</summary>
    public static void TanhBackward<T>(Span<T> gradient, ReadOnlySpan<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, TanhDerivative>(gradient, output);

    /// <summary>Softmax of each row of <paramref name="width"/> values, shifted by the row maximum so exp cannot overflow.</summary>
    public static void SoftmaxRows<T>(Span<T> values, int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int start = 0; start < values.Length; start += width)
        {
            var row = values.Slice(start, width);
            T max = row[0];
            foreach (var v in row) max = T.Max(max, v);
            T sum = T.Zero;
            for (int j = 0; j < width; j++) sum += row[j] = T.Exp(row[j] - max);
            T inverse = T.One / sum;
            for (int j = 0; j < width; j++) row[j] *= inverse;
        }
    }

    /// <summary>Softmax backward per row: dz = y ⊙ (da − Σⱼ daⱼ yⱼ), with y the softmax output.</summary>
    public static void SoftmaxRowsBackward<T>(Span<T> gradient, ReadOnlySpan<T> output, int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int start = 0; start < gradient.Length; start += width)
        {
            var g = gradient.Slice(start, width);
            var y = output.Slice(start, width);
            T dot = T.Zero;
            for (int j = 0; j < width; j++) dot += g[j] * y[j];
            for (int j = 0; j < width; j++) g[j] = y[j] * (g[j] - dot);
        }
    }

    readonly struct ReLUForward : IUnaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV _) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Max(x, TS.Zero);
    }

    readonly struct LeakyReLUForward : IUnaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV slope) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.SelectPositive(x, x, TS.Multiply(slope, x));
    }

    readonly struct LeakyReLUDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output, TV slope) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.SelectPositive(output, gradient, TS.Multiply(slope, gradient));
    }

    readonly struct ELUForward : IUnaryOperator
    {
        public static bool Approximates => true;

        public static TV Apply<T, TV, TS>(TV x, TV alpha) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.SelectPositive(x, x, TS.Multiply(alpha, TS.Subtract(TS.Exp(x), TS.Broadcast(T.One))));
    }

    readonly struct ELUDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output, TV alpha) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.SelectPositive(output, gradient, TS.Multiply(gradient, TS.Add(output, alpha)));
    }

    readonly struct SELUDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output, TV scale) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.SelectPositive(output, TS.Multiply(scale, gradient),
                TS.Multiply(gradient, TS.Add(output, TS.Broadcast(T.CreateTruncating(SeluScale * SeluAlpha)))));
    }

    internal readonly struct ScaleOperator : IUnaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV scale) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Multiply(x, scale);
    }

    readonly struct SigmoidForward : IUnaryOperator
    {
        public static bool Approximates => true;

        public static TV Apply<T, TV, TS>(TV x, TV _) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV>
        {
            var one = TS.Broadcast(T.One);
            return TS.Divide(one, TS.Add(one, TS.Exp(TS.Subtract(TS.Zero, x))));
        }
    }

    readonly struct SigmoidDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output, TV _) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Multiply(gradient, TS.Multiply(output, TS.Subtract(TS.Broadcast(T.One), output)));
    }

    readonly struct TanhForward : IUnaryOperator
    {
        public static bool Approximates => true;

        // tanh(x) = 1 − 2 / (e^(2x) + 1): saturates cleanly to ±1 when e^(2x) overflows to ∞ or underflows to 0.
        public static TV Apply<T, TV, TS>(TV x, TV _) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV>
        {
            var one = TS.Broadcast(T.One);
            var two = TS.Broadcast(T.One + T.One);
            return TS.Subtract(one, TS.Divide(two, TS.Add(TS.Exp(TS.Multiply(two, x)), one)));
        }
    }

    readonly struct TanhDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output, TV _) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Multiply(gradient, TS.Subtract(TS.Broadcast(T.One), TS.Multiply(output, output)));
    }
}

/// <summary>Vectorized elementwise arithmetic used by the generated epilogues.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Arithmetic
{
    /// <summary>values ← values + addend (elementwise; the bias segment of a row tile).</summary>
    public static void Add<T>(Span<T> values, ReadOnlySpan<T> addend) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, AddOperator>(values, addend);

    /// <summary>values ← values · factor.</summary>
    public static void Scale<T>(Span<T> values, T factor) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, Activations.ScaleOperator>(values, factor);

    /// <summary>values ← values + addend (one convolution filter's bias over its row of pixels).</summary>
    public static void AddScalar<T>(Span<T> values, T addend) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, AddScalarOperator>(values, addend);

    /// <summary>Bytes of a product's output from which <see cref="Store{T}"/> streams it past the caches: four times
    /// a core's L2 (2 MB on this machine's Xeon, 1 MB on Zen 5), so no output that the next step could still find in
    /// L2 is streamed.</summary>
    public const long StreamingBytes = 8L << 20;

    /// <summary>output[at ..] ← values: one finished segment of a product. A segment of whole 64-byte lines, into an
    /// output of <see cref="StreamingBytes"/> or more, is written with non-temporal stores, which skip reading each line
    /// in before writing it (half the memory traffic, and no wait on the read); any other is copied as by
    /// <see cref="Copy{T}"/>.</summary>
    /// <remarks>Only whole lines: a line written partly by non-temporal and partly by ordinary stores cost more than
    /// it saved (the 2048 layer 0.96× with its rows 16 bytes off the lines, 1.02–1.05× on them). Non-temporal stores
    /// are weakly ordered: whoever hands the output to another thread orders them first (<see cref="WorkSharing"/>
    /// does, with a store fence, before a part reports finished).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<T>(ReadOnlySpan<T> values, Span<T> output, int at) where T : unmanaged
    {
        var destination = output.Slice(at, values.Length);
        if ((long)output.Length * Unsafe.SizeOf<T>() >= StreamingBytes && Streams && StreamedLines(values, destination)) return;
        Copy(values, destination);
    }

    /// <summary>destination ← source by non-temporal stores, when the destination is whole 64-byte lines; false, and
    /// nothing written, otherwise. A method of its own: a method that pins is not inlined.</summary>
    static unsafe bool StreamedLines<T>(ReadOnlySpan<T> source, Span<T> destination) where T : unmanaged
    {
        fixed (T* sourceStart = source)
        fixed (T* destinationStart = destination)
        {
            byte* from = (byte*)sourceStart, to = (byte*)destinationStart;
            nint bytes = (nint)source.Length * Unsafe.SizeOf<T>();
            if ((((nint)to | bytes) & 63) != 0) return false;
            for (nint i = 0; i < bytes; i += 64)
                Avx512F.StoreAlignedNonTemporal(to + i, Vector512.Load(from + i));
            return true;
        }
    }

    /// <summary>Whether this processor has 512-bit non-temporal stores (<see cref="Store{T}"/>); without them every
    /// output is copied.</summary>
    static bool Streams => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>destination ← source, for the row segments the epilogues hand on: inlined vector moves, where
    /// <see cref="Span{T}.CopyTo"/> calls a general copy whose set-up cost as much as moving 32 values. Unlike
    /// <see cref="Span{T}.CopyTo"/>, the two must not overlap (an epilogue's segment is scratch, never its output).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy<T>(ReadOnlySpan<T> source, Span<T> destination) where T : unmanaged
    {
        if (destination.Length < source.Length)
            throw new ArgumentException($"The destination holds {destination.Length} values but {source.Length} are copied.", nameof(destination));
        ref T from = ref MemoryMarshal.GetReference(source);
        ref T to = ref MemoryMarshal.GetReference(destination);
        int i = 0, n = source.Length;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                Vector512.LoadUnsafe(ref from, (nuint)i).StoreUnsafe(ref to, (nuint)i);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                Vector256.LoadUnsafe(ref from, (nuint)i).StoreUnsafe(ref to, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
    }

    /// <summary>values ← values ⊙ factors (a dropout mask).</summary>
    public static void Multiply<T>(Span<T> values, ReadOnlySpan<T> factors) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, MultiplyOperator>(values, factors);

    readonly struct AddOperator : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV y, TV _) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Add(x, y);
    }

    readonly struct AddScalarOperator : IUnaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV addend) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Add(x, addend);
    }

    readonly struct MultiplyOperator : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV y, TV _) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Multiply(x, y);
    }
}
