using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>A copy of a Dense layer's weights stored input by input — Wᵀ, every unit's weight for input 0, then for
/// input 1, … — for float predictions of a few rows (<see cref="InputMajorGemm"/>). Units are padded to a multiple of
/// 16 with zero weights; the copy is pinned and 64-byte aligned.</summary>
/// <remarks>Why a copy: a prediction of one row reads every weight once, so its speed is the rate at which a core
/// streams the weights from L2. Stored as the layer keeps them ([units, inputs]), eight units' dot products read eight
/// rows at once — eight streams, which this Xeon's cores read at about 74 GB/s; input by input the product is one
/// stream (each input's weights for a run of units, contiguous), read at about 100 GB/s.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class InputMajorDense : DenseWeightsCopy
{
    readonly AlignedBuffer<float> values;

    /// <summary>Space for a layer of <paramref name="units"/> × <paramref name="inputs"/> weights; fill it with
    /// <see cref="Load"/>.</summary>
    public InputMajorDense(int units, int inputs) : base(units, inputs)
    {
        // Zeroed once: the padding units keep zero weights, as Load writes only the layer's own.
        values = new AlignedBuffer<float>(PaddedUnits * inputs);
    }

    const long LargeCopy = InputMajorTuning.LargeCopy;

    /// <summary>Predictions of fewer rows than this take this copy; more take <see cref="Gemm"/> on the layer's weights.
    /// <see cref="InputMajorGemm.RowLimit"/> for a copy of up to 1 MiB (the sample MLP's layers: 1.1–1.5× faster at 16–31
    /// rows than <see cref="Gemm"/>, which packs the weights at every call); half of it for a larger one, which every
    /// eight rows read again from L2 or beyond while the packed panels are reused from L1 (a 3136-input layer of 1.6 MB,
    /// the Fashion CNN's: about even at 8–16 rows, 0.73–0.78× at 24–32).</summary>
    public int RowLimit => (long)PaddedUnits * Inputs * sizeof(float) <= LargeCopy ? InputMajorGemm.RowLimit : InputMajorGemm.RowLimit / 2;

    internal ref float Start => ref MemoryMarshal.GetReference(values.AsSpan());

    /// <summary>Copies <paramref name="weights"/>, stored [units, inputs] row-major as a Dense layer keeps them, input by input.</summary>
    public void Load(ReadOnlySpan<float> weights)
    {
        RequireShape(weights);
        var target = values.AsSpan();
        // Blocks of 16 × 16 keep both the rows read and the rows written within a few cache lines; whole blocks are
        // transposed in registers where AVX-512 is (the sample MLP's three layers: 0.26 ms, against 0.61 ms one value at a time).
        for (int unit = 0; unit < Units; unit += UnitBlock)
            for (int input = 0; input < Inputs; input += UnitBlock)
            {
                if (Avx512F.IsSupported && unit + UnitBlock <= Units && input + UnitBlock <= Inputs)
                {
                    Gemm.Transpose16(ref Unsafe.AsRef(in weights[unit * Inputs + input]), Inputs, ref target[input * PaddedUnits + unit], PaddedUnits);
                    continue;
                }
                for (int u = unit; u < Math.Min(unit + UnitBlock, Units); u++)
                    for (int i = input; i < Math.Min(input + UnitBlock, Inputs); i++)
                        target[i * PaddedUnits + u] = weights[u * Inputs + i];
            }
    }

    /// <summary>The weight of <paramref name="unit"/> for <paramref name="input"/>.</summary>
    public float Weight(int unit, int input) => values.AsSpan()[input * PaddedUnits + unit];
}

/// <summary>Float products of a few rows with a Dense layer's weights stored input by input (<see cref="InputMajorDense"/>):
/// each row's outputs for a run of units are summed as Σ x_p · Wᵀ[p, units], the input broadcast and the run of weights one
/// contiguous read, every piece handed to the same generated epilogues as <see cref="Gemm"/>.</summary>
/// <remarks>Runs of 8 vectors of units (128 for 512-bit floats) at a time: eight rows at once by <see cref="Gemm"/>'s
/// micro-kernel reading the copy in place, then two rows per pass over the weights, then one. A product large enough to
/// repay the hand-off is split between the cores by whole runs, or by rows where there is one run. Every kernel sums
/// each output in one chain over the inputs in order, as <see cref="Gemm"/>'s packed product does, so a row's outputs are
/// the same bits here and there, whatever its batch and whichever kernel or core took it.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class InputMajorGemm
{
    /// <summary>Float predictions of fewer rows than this may read the input-major copies, each layer's below its own
    /// <see cref="InputMajorDense.RowLimit"/> (the generated networks ask both). Below it a copy saves packing the weights
    /// at every call: the sample MLP's layers 1.5–2.5× faster at 8–15 rows than <see cref="Gemm"/>, 1.1–1.5× at 16–31.</summary>
    public const int RowLimit = InputMajorTuning.RowLimit;

    /// <summary>C[batch, units] = inputs · Wᵀ; every row segment of C goes to <paramref name="epilogue"/>.</summary>
    /// <remarks>As with <see cref="Gemm.Multiply"/>, the epilogue may run on two threads for different pieces.</remarks>
    public static void Multiply<T, TEpilogue>(ReadOnlySpan<T> inputs, InputMajorDense layer, int batch, ref TEpilogue epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        var width = Vector512.IsHardwareAccelerated ? Width.Vector512 : Vector256.IsHardwareAccelerated ? Width.Vector256 : Width.Scalar;
        Multiply(inputs, layer, batch, ref epilogue, width);
    }

    /// <summary>The vector width a product runs at.</summary>
    internal enum Width { Vector512, Vector256, Scalar }

    /// <summary><see cref="Multiply{T, TEpilogue}(ReadOnlySpan{T}, InputMajorDense, int, ref TEpilogue)"/> at a given
    /// width (the tests take every width on one machine).</summary>
    internal static void Multiply<T, TEpilogue>(ReadOnlySpan<T> inputs, InputMajorDense layer, int batch, ref TEpilogue epilogue, Width width)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (typeof(T) != typeof(float))
            throw new NotSupportedException($"Input-major weights are float; the product was asked for {typeof(T).Name}.");
        layer.RequireBatch(inputs.Length, batch);
        fixed (T* x = inputs)
        {
            var job = new Job<TEpilogue>((float*)x, layer, batch, epilogue);
            if (width == Width.Vector512) Dispatch<T, Vector512<float>, Simd512<float>, TEpilogue>(ref job);
            else if (width == Width.Vector256) Dispatch<T, Vector256<float>, Simd256<float>, TEpilogue>(ref job);
            else Dispatch<T, float, Scalar<float>, TEpilogue>(ref job);
        }
    }

    ref struct Job<TEpilogue>(float* inputs, InputMajorDense layer, int batch, TEpilogue epilogue) where TEpilogue : allows ref struct
    {
        public readonly float* Inputs = inputs;
        public readonly InputMajorDense Layer = layer;
        public readonly int Batch = batch;
        public TEpilogue Epilogue = epilogue;
    }

    static void Dispatch<T, TVector, TSimd, TEpilogue>(ref Job<TEpilogue> job)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<float, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        int runs = Runs<TVector, TSimd>(job.Layer);
        long work = (long)job.Batch * job.Layer.PaddedUnits * job.Layer.Inputs;
        if (WorkSharing.Parts > 1 && (runs >= 2 || job.Batch >= 2 || SplitsRunByHalves<TVector, TSimd>(job.Layer)) && work >= GemmTuning.SharedWorkThreshold)
            WorkSharing.Run(&Part<T, TVector, TSimd, TEpilogue>, ref job);
        else
            Compute<T, TVector, TSimd, TEpilogue>(ref job, 0, runs, 0, job.Batch);
    }

    /// <summary>Runs of up to eight vectors of units, each starting at one of the layer's own units (narrow vectors
    /// could otherwise make a run of padding alone).</summary>
    static int Runs<TVector, TSimd>(InputMajorDense layer) where TVector : struct where TSimd : ISimd<float, TVector> =>
        (layer.Units + RunWidth<TVector, TSimd>() - 1) / RunWidth<TVector, TSimd>();

    static int RunWidth<TVector, TSimd>() where TVector : struct where TSimd : ISimd<float, TVector> => 8 * TSimd.Count;

    /// <summary>Whether a single row of a one-run layer is shared by halves of its run: each core then streams half of
    /// every input's weights, and keeps that half in its own L2 from one prediction to the next.</summary>
    static bool SplitsRunByHalves<TVector, TSimd>(InputMajorDense layer) where TVector : struct where TSimd : ISimd<float, TVector> =>
        Runs<TVector, TSimd>(layer) == 1 && layer.PaddedUnits >= RunWidth<TVector, TSimd>();

    static void Part<T, TVector, TSimd, TEpilogue>(ref Job<TEpilogue> job, int part)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<float, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        int runs = Runs<TVector, TSimd>(job.Layer);
        if (runs == 1 && job.Batch == 1)
        {
            // Four vectors of units each, summed in input order as a whole run's are: the same bits.
            int unit = part * 4 * TSimd.Count, count = Math.Min(4 * TSimd.Count, job.Layer.Units - unit);
            if (count <= 0) return;
            Span<T> sums = stackalloc T[4 * 16];
            FourVectors<TVector, TSimd>(job.Inputs, ref Unsafe.Add(ref job.Layer.Start, unit), job.Layer.Inputs, job.Layer.PaddedUnits,
                ref MemoryMarshal.Cast<T, float>(sums)[0]);
            job.Epilogue.Apply(0, unit, sums[..count]);
        }
        else if (runs >= 2)
        {
            var (first, last) = WorkSharing.Range(runs, part);
            Compute<T, TVector, TSimd, TEpilogue>(ref job, first, last, 0, job.Batch);
        }
        else
        {
            // One run: the rows split, at whole 8-row tiles where each part gets one, else near the middle at a pair, so
            // the passes over the weights even out (a row's sums are the same bits whichever kernel and core take it).
            int split = job.Batch >= 2 * GemmTuning.RowsPerTile ? job.Batch / 2 / GemmTuning.RowsPerTile * GemmTuning.RowsPerTile
                : job.Batch == 2 ? 1 : (job.Batch + 3) / 4 * 2;
            Compute<T, TVector, TSimd, TEpilogue>(ref job, 0, runs, part == 0 ? 0 : split, part == 0 ? split : job.Batch);
        }
    }

    /// <summary>Rows [firstRow, lastRow) times the runs [firstRun, lastRun): eight rows at a time by <see cref="Gemm"/>'s
    /// micro-kernel reading two vectors of units straight from the copy, then the rows left two at a time, then one.
    /// Every kernel sums each output over the inputs in order in one chain, as <see cref="Gemm"/> does, so a row's
    /// outputs are the same bits whichever kernel took it and however large its batch.</summary>
    [SkipLocalsInit]
    static void Compute<T, TVector, TSimd, TEpilogue>(ref Job<TEpilogue> job, int firstRun, int lastRun, int firstRow, int lastRow)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<float, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        var layer = job.Layer;
        int inputs = layer.Inputs, stride = layer.PaddedUnits, width = RunWidth<TVector, TSimd>(), pair = 2 * TSimd.Count;
        // T is float (checked by Multiply); the epilogue takes the sums as T. Room for two rows of a run, or for a tile
        // of eight rows of two vectors.
        Span<T> values = stackalloc T[2 * 8 * 16];
        Span<T> first = values[..width], second = values.Slice(width, width);
        ref float sums = ref MemoryMarshal.Cast<T, float>(values)[0], secondSums = ref Unsafe.Add(ref sums, width);
        ref float weights = ref layer.Start;
        for (int run = firstRun; run < lastRun; run++)
        {
            int unit = run * width, vectors = Math.Min(8, (stride - unit) / TSimd.Count);
            int count = Math.Min(vectors * TSimd.Count, layer.Units - unit);
            ref float start = ref Unsafe.Add(ref weights, unit);
            // Tiles take only the vectors that hold some of the layer's units (with narrow vectors a run's last ones may
            // hold padding alone).
            int used = (count + TSimd.Count - 1) / TSimd.Count;
            int row = firstRow;
            for (; row + GemmTuning.RowsPerTile <= lastRow; row += GemmTuning.RowsPerTile)
            {
                ref float x = ref *(job.Inputs + (nint)row * inputs);
                int v = 0;
                for (; v + 2 <= used; v += 2)
                {
                    Gemm.EightRows<float, TVector, TSimd>(ref x, inputs, 1, ref Unsafe.Add(ref start, v * TSimd.Count), stride, inputs, ref sums, carried: false);
                    int column = v * TSimd.Count, columns = Math.Min(pair, count - column);
                    for (int r = 0; r < GemmTuning.RowsPerTile; r++)
                        job.Epilogue.Apply(row + r, unit + column, values.Slice(r * pair, columns));
                }
                if (v < used)
                {
                    // An odd vector left: row by row.
                    int column = v * TSimd.Count;
                    for (int r = 0; r < GemmTuning.RowsPerTile; r++)
                    {
                        OneVector<TVector, TSimd>(job.Inputs + (nint)(row + r) * inputs, ref Unsafe.Add(ref start, column), inputs, stride, ref sums);
                        job.Epilogue.Apply(row + r, unit + column, values[..(count - column)]);
                    }
                }
            }
            if (vectors == 8)
                for (; row + 2 <= lastRow; row += 2)
                {
                    float* x = job.Inputs + (nint)row * inputs;
                    TwoRows<TVector, TSimd>(x, x + inputs, ref start, inputs, stride, ref sums, ref secondSums);
                    job.Epilogue.Apply(row, unit, first[..count]);
                    job.Epilogue.Apply(row + 1, unit, second[..count]);
                }
            for (; row < lastRow; row++)
            {
                float* x = job.Inputs + (nint)row * inputs;
                if (vectors == 8) EightVectors<TVector, TSimd>(x, ref start, inputs, stride, ref sums);
                else
                    for (int v = 0; v < vectors; v++)
                        OneVector<TVector, TSimd>(x, ref Unsafe.Add(ref start, v * TSimd.Count), inputs, stride, ref Unsafe.Add(ref sums, v * TSimd.Count));
                job.Epilogue.Apply(row, unit, first[..count]);
            }
        }
    }

    /// <summary>Eight vectors of units' sums over all inputs for two rows: sixteen accumulators, each load of weights
    /// serving both rows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void TwoRows<TVector, TSimd>(float* x, float* y, ref float w, int inputs, int stride, ref float sums, ref float secondSums)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        nint count = TSimd.Count;
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero, c4 = TSimd.Zero, c5 = TSimd.Zero, c6 = TSimd.Zero, c7 = TSimd.Zero;
        TVector d0 = TSimd.Zero, d1 = TSimd.Zero, d2 = TSimd.Zero, d3 = TSimd.Zero, d4 = TSimd.Zero, d5 = TSimd.Zero, d6 = TSimd.Zero, d7 = TSimd.Zero;
        for (int p = 0; p < inputs; p++, w = ref Unsafe.Add(ref w, stride))
        {
            TVector a = TSimd.Broadcast(x[p]), b = TSimd.Broadcast(y[p]);
            TVector w0 = TSimd.Load(ref w), w1 = TSimd.Load(ref Unsafe.Add(ref w, count));
            c0 = TSimd.MultiplyAdd(a, w0, c0); d0 = TSimd.MultiplyAdd(b, w0, d0);
            c1 = TSimd.MultiplyAdd(a, w1, c1); d1 = TSimd.MultiplyAdd(b, w1, d1);
            TVector w2 = TSimd.Load(ref Unsafe.Add(ref w, 2 * count)), w3 = TSimd.Load(ref Unsafe.Add(ref w, 3 * count));
            c2 = TSimd.MultiplyAdd(a, w2, c2); d2 = TSimd.MultiplyAdd(b, w2, d2);
            c3 = TSimd.MultiplyAdd(a, w3, c3); d3 = TSimd.MultiplyAdd(b, w3, d3);
            TVector w4 = TSimd.Load(ref Unsafe.Add(ref w, 4 * count)), w5 = TSimd.Load(ref Unsafe.Add(ref w, 5 * count));
            c4 = TSimd.MultiplyAdd(a, w4, c4); d4 = TSimd.MultiplyAdd(b, w4, d4);
            c5 = TSimd.MultiplyAdd(a, w5, c5); d5 = TSimd.MultiplyAdd(b, w5, d5);
            TVector w6 = TSimd.Load(ref Unsafe.Add(ref w, 6 * count)), w7 = TSimd.Load(ref Unsafe.Add(ref w, 7 * count));
            c6 = TSimd.MultiplyAdd(a, w6, c6); d6 = TSimd.MultiplyAdd(b, w6, d6);
            c7 = TSimd.MultiplyAdd(a, w7, c7); d7 = TSimd.MultiplyAdd(b, w7, d7);
        }
        Store<TVector, TSimd>(ref sums, c0, c1, c2, c3, c4, c5, c6, c7);
        Store<TVector, TSimd>(ref secondSums, d0, d1, d2, d3, d4, d5, d6, d7);
    }

    /// <summary>Eight vectors of units' sums over all inputs for one row: eight accumulators, each summing its inputs in
    /// order as <see cref="TwoRows"/> does, so a row's outputs do not depend on whether it was paired. Eight FMA chains
    /// keep two FMA units of four cycles' latency busy, and the loop waits on L2 long before that.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void EightVectors<TVector, TSimd>(float* x, ref float w, int inputs, int stride, ref float sums)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        nint count = TSimd.Count;
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero, c4 = TSimd.Zero, c5 = TSimd.Zero, c6 = TSimd.Zero, c7 = TSimd.Zero;
        for (int p = 0; p < inputs; p++, w = ref Unsafe.Add(ref w, stride))
        {
            TVector a = TSimd.Broadcast(x[p]);
            c0 = TSimd.MultiplyAdd(a, TSimd.Load(ref w), c0);
            c1 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, count)), c1);
            c2 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 2 * count)), c2);
            c3 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 3 * count)), c3);
            c4 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 4 * count)), c4);
            c5 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 5 * count)), c5);
            c6 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 6 * count)), c6);
            c7 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 7 * count)), c7);
        }
        Store<TVector, TSimd>(ref sums, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /// <summary>Four vectors of units' sums over all inputs for one row, each in input order as in <see cref="EightVectors"/>:
    /// one core's half of a run.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void FourVectors<TVector, TSimd>(float* x, ref float w, int inputs, int stride, ref float sums)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        nint count = TSimd.Count;
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero;
        for (int p = 0; p < inputs; p++, w = ref Unsafe.Add(ref w, stride))
        {
            TVector a = TSimd.Broadcast(x[p]);
            c0 = TSimd.MultiplyAdd(a, TSimd.Load(ref w), c0);
            c1 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, count)), c1);
            c2 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 2 * count)), c2);
            c3 = TSimd.MultiplyAdd(a, TSimd.Load(ref Unsafe.Add(ref w, 3 * count)), c3);
        }
        TSimd.Store(c0, ref sums); TSimd.Store(c1, ref Unsafe.Add(ref sums, count));
        TSimd.Store(c2, ref Unsafe.Add(ref sums, 2 * count)); TSimd.Store(c3, ref Unsafe.Add(ref sums, 3 * count));
    }

    /// <summary>Eight vectors of sums, one after another from <paramref name="sums"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store<TVector, TSimd>(ref float sums, TVector c0, TVector c1, TVector c2, TVector c3, TVector c4, TVector c5, TVector c6, TVector c7)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        nint count = TSimd.Count;
        TSimd.Store(c0, ref sums); TSimd.Store(c1, ref Unsafe.Add(ref sums, count));
        TSimd.Store(c2, ref Unsafe.Add(ref sums, 2 * count)); TSimd.Store(c3, ref Unsafe.Add(ref sums, 3 * count));
        TSimd.Store(c4, ref Unsafe.Add(ref sums, 4 * count)); TSimd.Store(c5, ref Unsafe.Add(ref sums, 5 * count));
        TSimd.Store(c6, ref Unsafe.Add(ref sums, 6 * count)); TSimd.Store(c7, ref Unsafe.Add(ref sums, 7 * count));
    }

    /// <summary>One vector of units' sums (the runs after the last whole one), one accumulator in input order as in the
    /// other kernels. Its chain waits on each FMA in turn; it only ever takes the last few units of a layer.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void OneVector<TVector, TSimd>(float* x, ref float w, int inputs, int stride, ref float sums)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        TVector c = TSimd.Zero;
        for (int p = 0; p < inputs; p++, w = ref Unsafe.Add(ref w, stride))
            c = TSimd.MultiplyAdd(TSimd.Broadcast(x[p]), TSimd.Load(ref w), c);
        TSimd.Store(c, ref sums);
    }
}
