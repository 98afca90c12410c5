using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Inference products on 8-bit weights (<see cref="QuantizedDense"/>) and 5-bit inputs, the float result handed
/// to the same generated epilogues as <see cref="Gemm"/>. Each input row is quantized on its own: its range (widened to
/// hold zero) split in 31 steps, <c>x ≈ s·(q − z)</c>. Then <c>Σ w·x ≈ s·scale·(Σ q_w·q_x − z·Σ q_w)</c>, the integer sums
/// exact. The processor has no 8-bit dot product that .NET exposes here (VNNI), so a line of products takes an
/// unsigned-by-signed byte multiply-add into 16 bits and a widening one into 32, both on one port; five-bit inputs let
/// four lines' 16-bit sums add before one widening without saturating.</summary>
/// <remarks>One row's error is bounded per product term: |w̃x̃ − wx| ≤ |w̃|·s/2 + |x|·scale/2. Like dynamic
/// quantization in PyTorch (<c>quantize_dynamic</c>), it trades that error for a quarter of the weight bytes and four
/// times the products per instruction — what limits a single prediction. On Fashion-MNIST the sample MLP's test accuracy
/// moved from 0.8883 to 0.8878 (six-bit inputs: 0.8888, 15% slower).</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe partial class QuantizedGemm
{
    const long SharedWorkThreshold = QuantizedGemmTuning.SharedWorkThreshold;
    const long SharedRowThreshold = QuantizedGemmTuning.SharedRowThreshold;

    /// <summary>The largest quantized input: 5 bits, so four steps' byte products (each at most 2 · 31 · 127 in
    /// magnitude) add within 16 bits before they are widened — one widening multiply-add per four, where the
    /// multiply-adds' port is the limit.</summary>
    internal const int InputLevels = 31;

    const int TileUnits = QuantizedGemmTuning.TileUnits;

    internal enum Kernel { Portable, Avx2, Avx512 }

    [ThreadStatic] static Kernel? forcedKernel;
    static bool anyForced;

    /// <summary>Forces an integer kernel for products started on the calling thread (tests take every path on a machine
    /// with AVX-512); the portable one also keeps the row helpers scalar. Until some thread forces one, reading it costs
    /// a plain static read instead of a thread-local lookup (about 10 ns per layer of a single prediction).</summary>
    internal static Kernel? ForcedKernel
    {
        get => Volatile.Read(ref anyForced) ? forcedKernel : null;
        set
        {
            forcedKernel = value;
            Volatile.Write(ref anyForced, true);
        }
    }

    /// <summary>C[batch, units] = inputs · Wᵀ with <paramref name="layer"/>'s int8 weights; every row segment of C goes to
    /// <paramref name="epilogue"/> as floats (bias, activation and the rest are the epilogue's).</summary>
    /// <remarks>As with <see cref="Gemm.Multiply"/>, the epilogue may run on two threads for different pieces.</remarks>
    public static void Multiply<T, TEpilogue>(ReadOnlySpan<T> inputs, QuantizedDense layer, int batch, ref TEpilogue epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (typeof(T) != typeof(float))
            throw new NotSupportedException($"Int8 inference computes in float; it was asked for {typeof(T).Name}.");
        layer.RequireBatch(inputs.Length, batch);

        int stride = layer.PaddedInputs;
        // The row helpers take the kernel's vector width too: 512 bits with AVX-512, 256 with AVX2, else scalar.
        var kernel = ForcedKernel ?? (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported ? Kernel.Avx512 : Avx2.IsSupported ? Kernel.Avx2 : Kernel.Portable);
        var scratch = Rows.For(batch, stride);
        var quantized = scratch.Bytes.AsSpan(0, batch * stride);
        var scales = scratch.Scales.AsSpan(0, batch);
        var zeros = scratch.Zeros.AsSpan(0, batch);
        var rows = MemoryMarshal.Cast<T, float>(inputs);
        for (int row = 0; row < batch; row++)
            QuantizeRow(rows.Slice(row * layer.Inputs, layer.Inputs), quantized.Slice(row * stride, stride), out scales[row], out zeros[row], kernel);

        fixed (byte* x = quantized)
        fixed (float* rowScales = scales)
        fixed (int* rowZeros = zeros)
        {
            var job = new Job<T, TEpilogue>(layer, x, rowScales, rowZeros, batch, kernel, epilogue);
            int blocks = layer.PaddedUnits / 16;
            // A single row's product is shared only when it is large: on a 2 µs product the hand-off (the job, the
            // quantized row and the outputs crossing between the cores) took what the second core saved.
            long work = (long)batch * layer.PaddedUnits * layer.PaddedInputs;
            bool share = WorkSharing.Parts > 1 && (batch >= 2 ? work >= SharedWorkThreshold : blocks >= 2 && work >= SharedRowThreshold);
            if (!share) Compute(ref job, 0, batch, 0, blocks);
            else WorkSharing.Run(&Part<T, TEpilogue>, ref job);
        }
    }

    /// <summary>Quantizes one row: <c>s = (max(0, hi) − min(0, lo)) / 31</c>, <c>z = round(−min(0, lo) / s)</c>,
    /// <c>q = clamp(round(x / s) + z, 0, 31)</c>; padding gets q = 0 (its weights are zero). A non-finite value gives
    /// s = NaN, so the row's outputs are NaN as in float.</summary>
    internal static void QuantizeRow(ReadOnlySpan<float> row, Span<byte> quantized, out float scale, out int zero, Kernel kernel)
    {
        bool finite = true;
        int start = 0;
        // The vector loops leave their range in four lanes; all start at zero, so zero stays in the range (and with no
        // vector loop the range starts as [0, 0]).
        Vector128<float> low4 = default, high4 = default;
        if (kernel == Kernel.Avx512 && row.Length >= 16)
        {
            // x − x is 0 for finite x and NaN otherwise; NaN survives the sum, so one check at the end finds it. Two
            // sets of running values, so each step waits on the one two vectors back (the 784-value row: 49 steps).
            Vector512<float> low = Vector512<float>.Zero, high = Vector512<float>.Zero, check = Vector512<float>.Zero;
            Vector512<float> low2 = Vector512<float>.Zero, high2 = Vector512<float>.Zero, check2 = Vector512<float>.Zero;
            ref float values = ref MemoryMarshal.GetReference(row);
            for (; start + 32 <= row.Length; start += 32)
            {
                var x = Vector512.LoadUnsafe(ref values, (nuint)start);
                var y = Vector512.LoadUnsafe(ref values, (nuint)(start + 16));
                low = Vector512.MinNative(low, x);
                high = Vector512.MaxNative(high, x);
                check += x - x;
                low2 = Vector512.MinNative(low2, y);
                high2 = Vector512.MaxNative(high2, y);
                check2 += y - y;
            }
            for (; start + 16 <= row.Length; start += 16)
            {
                var x = Vector512.LoadUnsafe(ref values, (nuint)start);
                low = Vector512.MinNative(low, x);
                high = Vector512.MaxNative(high, x);
                check += x - x;
            }
            low = Vector512.MinNative(low, low2);
            high = Vector512.MaxNative(high, high2);
            finite = Vector512.EqualsAll(check + check2, Vector512<float>.Zero);
            // Halves folded onto each other down to four lanes. The native min and max (one instruction each, where the
            // IEEE forms take three) suffice: a NaN is caught by the check, and −0 and +0 quantize alike.
            var low8 = Vector256.MinNative(low.GetLower(), low.GetUpper());
            var high8 = Vector256.MaxNative(high.GetLower(), high.GetUpper());
            low4 = Vector128.MinNative(low8.GetLower(), low8.GetUpper());
            high4 = Vector128.MaxNative(high8.GetLower(), high8.GetUpper());
        }
        else if (kernel == Kernel.Avx2 && row.Length >= 8)
        {
            Vector256<float> low = Vector256<float>.Zero, high = Vector256<float>.Zero, check = Vector256<float>.Zero;
            for (; start + 8 <= row.Length; start += 8)
            {
                var x = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(row), (nuint)start);
                low = Vector256.MinNative(low, x);
                high = Vector256.MaxNative(high, x);
                check += x - x;
            }
            finite = Vector256.EqualsAll(check, Vector256<float>.Zero);
            low4 = Vector128.MinNative(low.GetLower(), low.GetUpper());
            high4 = Vector128.MaxNative(high.GetLower(), high.GetUpper());
        }
        float lo = float.MinNative(float.MinNative(low4[0], low4[1]), float.MinNative(low4[2], low4[3]));
        float hi = float.MaxNative(float.MaxNative(high4[0], high4[1]), float.MaxNative(high4[2], high4[3]));
        for (int at = start; at < row.Length; at++)
        {
            float x = row[at];
            finite &= float.IsFinite(x);
            lo = MathF.Min(lo, x);
            hi = MathF.Max(hi, x);
        }
        // Every input gets its value below; only the padding (zero weights) must be zero.
        if (quantized.Length > row.Length) quantized[row.Length..].Clear();
        if (!finite || hi == lo)
        {
            quantized.Clear();
            scale = finite ? 0f : float.NaN;
            zero = 0;
            return;
        }
        scale = (hi - lo) / InputLevels;
        float inverse = 1f / scale;
        zero = Math.Clamp((int)MathF.Round(-lo * inverse), 0, InputLevels);
        int i = 0;
        if (kernel == Kernel.Avx512)
        {
            // The processor's own conversion rounds to nearest even, as MathF.Round does; the values are finite and
            // small, so none of the saturating conversion's fix-ups are needed, and the clamp runs on integers.
            var factor = Vector512.Create(inverse);
            var shift = Vector512.Create(zero);
            var top = Vector512.Create(InputLevels);
            ref float source = ref MemoryMarshal.GetReference(row);
            ref byte destination = ref MemoryMarshal.GetReference(quantized);
            // Sixty-four values at a time: narrowed by two saturating packs (the unsigned one clamps at 0) and clamped
            // at 31 as bytes, for half the shuffles of four one-vector narrowings. The packs interleave their inputs
            // per 128-bit lane; one permutation puts each vector's sixteen bytes back in order.
            var byteTop = Vector512.Create((byte)InputLevels);
            var order = Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            for (; i + 64 <= row.Length; i += 64)
            {
                var q0 = Avx512F.ConvertToVector512Int32(Vector512.LoadUnsafe(ref source, (nuint)i) * factor) + shift;
                var q1 = Avx512F.ConvertToVector512Int32(Vector512.LoadUnsafe(ref source, (nuint)(i + 16)) * factor) + shift;
                var q2 = Avx512F.ConvertToVector512Int32(Vector512.LoadUnsafe(ref source, (nuint)(i + 32)) * factor) + shift;
                var q3 = Avx512F.ConvertToVector512Int32(Vector512.LoadUnsafe(ref source, (nuint)(i + 48)) * factor) + shift;
                var bytes = Avx512BW.PackUnsignedSaturate(Avx512BW.PackSignedSaturate(q0, q1), Avx512BW.PackSignedSaturate(q2, q3));
                Vector512.Min(Avx512F.PermuteVar16x32(bytes.AsInt32(), order).AsByte(), byteTop).StoreUnsafe(ref destination, (nuint)i);
            }
            for (; i + 16 <= row.Length; i += 16)
            {
                var q = Avx512F.ConvertToVector512Int32(Vector512.LoadUnsafe(ref source, (nuint)i) * factor) + shift;
                Avx512F.ConvertToVector128Byte(Vector512.Min(Vector512.Max(q, Vector512<int>.Zero), top)).StoreUnsafe(ref destination, (nuint)i);
            }
        }
        else if (kernel == Kernel.Avx2)
        {
            var factor = Vector256.Create(inverse);
            var shift = Vector256.Create(zero);
            var top = Vector256.Create(InputLevels);
            ref float source = ref MemoryMarshal.GetReference(row);
            ref byte destination = ref MemoryMarshal.GetReference(quantized);
            for (; i + 8 <= row.Length; i += 8)
            {
                var q = Vector256.Min(Vector256.Max(Avx.ConvertToVector256Int32(Vector256.LoadUnsafe(ref source, (nuint)i) * factor) + shift, Vector256<int>.Zero), top);
                // Eight values of 0..31 narrowed twice; the first eight bytes are theirs.
                var words = Vector256.Narrow(q, q);
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, i), Vector256.Narrow(words, words).AsUInt64().ToScalar());
            }
        }
        for (; i < row.Length; i++)
            quantized[i] = (byte)Math.Clamp((int)MathF.Round(row[i] * inverse) + zero, 0, InputLevels);
    }

    /// <remarks>The kernel travels here: a worker reads it from the job, not from its own thread's setting.</remarks>
    ref struct Job<T, TEpilogue>(QuantizedDense layer, byte* inputs, float* scales, int* zeros, int batch, Kernel kernel, TEpilogue epilogue)
        where T : unmanaged where TEpilogue : allows ref struct
    {
        public readonly QuantizedDense Layer = layer;
        public readonly byte* Inputs = inputs;
        public readonly float* Scales = scales;
        public readonly int* Zeros = zeros;
        public readonly int Batch = batch;
        public readonly Kernel Kernel = kernel;
        public TEpilogue Epilogue = epilogue;
    }

    static void Part<T, TEpilogue>(ref Job<T, TEpilogue> job, int part)
        where T : unmanaged, IFloatingPointIeee754<T> where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        int blocks = job.Layer.PaddedUnits / 16;
        if (job.Batch >= 2)
        {
            var (first, last) = WorkSharing.Range(job.Batch, part);
            Compute(ref job, first, last, 0, blocks);
        }
        else
        {
            // One row: the units split in halves of whole tiles where there are tiles, else of 16-unit blocks.
            int tileBlocks = TileUnits / 16;
            int split = blocks >= 2 * tileBlocks ? (blocks / tileBlocks + 1) / 2 * tileBlocks : (blocks + 1) / 2;
            Compute(ref job, 0, 1, part == 0 ? 0 : split, part == 0 ? split : blocks);
        }
    }

    /// <summary>Rows [firstRow, lastRow) × 16-unit blocks [firstBlock, lastBlock).</summary>
    [SkipLocalsInit]
    static void Compute<T, TEpilogue>(ref Job<T, TEpilogue> job, int firstRow, int lastRow, int firstBlock, int lastBlock)
        where T : unmanaged, IFloatingPointIeee754<T> where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        var layer = job.Layer;
        int stride = layer.PaddedInputs;
        Span<int> sums = stackalloc int[TileUnits];
        Span<T> values = stackalloc T[TileUnits];
        var floats = MemoryMarshal.Cast<T, float>(values);
        ref sbyte weights = ref layer.Packed;
        for (int row = firstRow; row < lastRow; row++)
        {
            byte* x = job.Inputs + (nint)row * stride;
            // The row was just written by the caller's core: ask for all its lines at once, or the worker's core waits
            // for each line's transfer in turn as the product reaches it.
            if (Sse.IsSupported)
                for (int line = 0; line < stride; line += 64) Sse.Prefetch0(x + line);
            float scale = job.Scales[row];
            int zero = job.Zeros[row];
            for (int block = firstBlock; block < lastBlock;)
            {
                int count = Math.Min(TileUnits / 16, lastBlock - block), unit = block * 16;
                ref sbyte tile = ref Unsafe.Add(ref weights, unit * 4);
                if (job.Kernel == Kernel.Avx512)
                {
                    int b = 0;
                    for (; b + 8 <= count; b += 8) EightBlocks(x, ref Unsafe.Add(ref tile, b * 64), stride, layer.PaddedUnits, sums.Slice(b * 16, 128));
                    for (; b < count; b++) OneBlock(x, ref Unsafe.Add(ref tile, b * 64), stride, layer.PaddedUnits, sums.Slice(b * 16, 16));
                }
                else if (job.Kernel == Kernel.Avx2)
                {
                    int b = 0;
                    for (; b + 4 <= count; b += 4) FourBlocks256(x, ref Unsafe.Add(ref tile, b * 64), stride, layer.PaddedUnits, sums.Slice(b * 16, 64));
                    for (; b < count; b++) OneBlock256(x, ref Unsafe.Add(ref tile, b * 64), stride, layer.PaddedUnits, sums.Slice(b * 16, 16));
                }
                else Portable(x, ref tile, stride, layer.PaddedUnits, count * 16, sums);
                int width = Math.Min(count * 16, layer.Units - unit);
                Dequantize(sums, layer.Scales.AsSpan(unit, count * 16), layer.WeightSums.AsSpan(unit, count * 16), scale, zero, floats[..(count * 16)], job.Kernel);
                job.Epilogue.Apply(row, unit, values[..width]);
                block += count;
            }
        }
    }

    /// <summary>y = s · scale · (Σ q_w·q_x − z · Σ q_w) per unit.</summary>
    static void Dequantize(ReadOnlySpan<int> sums, ReadOnlySpan<float> scales, ReadOnlySpan<int> weightSums, float scale, int zero, Span<float> values, Kernel kernel)
    {
        int j = 0;
        if (kernel == Kernel.Avx2)
        {
            var rowScale = Vector256.Create(scale);
            var rowZero = Vector256.Create(zero);
            for (; j + 8 <= values.Length; j += 8)
            {
                var exact = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(sums), (nuint)j) - rowZero * Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(weightSums), (nuint)j);
                (rowScale * Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(scales), (nuint)j) * Vector256.ConvertToSingle(exact))
                    .StoreUnsafe(ref MemoryMarshal.GetReference(values), (nuint)j);
            }
        }
        if (kernel == Kernel.Avx512)
        {
            var rowScale = Vector512.Create(scale);
            var rowZero = Vector512.Create(zero);
            for (; j + 16 <= values.Length; j += 16)
            {
                var exact = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(sums), (nuint)j) - rowZero * Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(weightSums), (nuint)j);
                (rowScale * Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(scales), (nuint)j) * Vector512.ConvertToSingle(exact))
                    .StoreUnsafe(ref MemoryMarshal.GetReference(values), (nuint)j);
            }
        }
        for (; j < values.Length; j++) values[j] = scale * scales[j] * (sums[j] - zero * weightSums[j]);
    }

    /// <summary>A thread's quantized rows with their scales and zero points: one thread-local lookup per product.</summary>
    sealed class Rows
    {
        [ThreadStatic] static Rows? current;

        public byte[] Bytes = [];
        public float[] Scales = [];
        public int[] Zeros = [];

        public static Rows For(int batch, int stride)
        {
            var rows = current ??= new Rows();
            if (rows.Bytes.Length < batch * stride) rows.Bytes = GC.AllocateArray<byte>(batch * stride, pinned: true);
            if (rows.Scales.Length < batch)
            {
                rows.Scales = GC.AllocateArray<float>(batch, pinned: true);
                rows.Zeros = GC.AllocateArray<int>(batch, pinned: true);
            }
            return rows;
        }
    }
}
