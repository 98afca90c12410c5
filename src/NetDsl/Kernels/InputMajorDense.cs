using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>A copy of a Dense layer's weights stored input by input — Wᵀ, every unit's weight for input 0, then for
/// input 1, … — for float predictions of a few rows (<see cref="InputMajorGemm"/>). Units are padded to a multiple of
/// 16 with zero weights; the copy is pinned and 64-byte aligned.</summary>
/// <remarks>Why a copy: a prediction of one row reads every weight once, so its speed is the rate at which a core
/// streams the weights from L2. Stored as the layer keeps them ([units, inputs]), eight units' dot products read eight
/// rows at once — eight streams, which this Xeon's cores read at about 74 GB/s; input by input the product is one
/// stream (each input's weights for a run of units, contiguous), read at about 100 GB/s.</remarks>
public sealed class InputMajorDense : DenseWeightsCopy
{
    readonly float[] values;
    readonly int start;

    /// <summary>Space for a layer of <paramref name="units"/> × <paramref name="inputs"/> weights; fill it with
    /// <see cref="Load"/>.</summary>
    public InputMajorDense(int units, int inputs) : base(units, inputs)
    {
        // Zeroed once: the padding units keep zero weights, as Load writes only the layer's own.
        values = AlignedArray.Allocate<float>(PaddedUnits * inputs);
        start = AlignedArray.Start(values);
    }

    internal ref float Start => ref values[start];

    /// <summary>Copies <paramref name="weights"/>, stored [units, inputs] row-major as a Dense layer keeps them, input by input.</summary>
    public void Load(ReadOnlySpan<float> weights)
    {
        RequireShape(weights);
        var target = values.AsSpan(start, PaddedUnits * Inputs);
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
    public float Weight(int unit, int input) => values[start + input * PaddedUnits + unit];
}

/// <summary>Float products of a few rows with a Dense layer's weights stored input by input (<see cref="InputMajorDense"/>):
/// each row's outputs for a run of units are summed as Σ x_p · Wᵀ[p, units], the input broadcast and the run of weights one
/// contiguous read, every piece handed to the same generated epilogues as <see cref="Gemm"/>.</summary>
/// <remarks>Runs of 8 vectors of units (128 for 512-bit floats) at a time, sixteen accumulators (two sets over
/// alternate inputs, so no sum waits on the one before). A product large enough to repay the hand-off is split between
/// the cores by whole runs. The sums are taken in input order, so they round differently from <see cref="Gemm"/>'s
/// dot products of the same values (both are within float's rounding of the exact product).</remarks>
public static unsafe class InputMajorGemm
{
    /// <summary>Multiply-adds below which a product stays on one core.</summary>
    const long SharedWorkThreshold = 96 * 1024;

    /// <summary>C[batch, units] = inputs · Wᵀ; every row segment of C goes to <paramref name="epilogue"/>.</summary>
    /// <remarks>As with <see cref="Gemm.Multiply"/>, the epilogue may run on two threads for different pieces.</remarks>
    public static void Multiply<T, TEpilogue>(ReadOnlySpan<T> inputs, InputMajorDense layer, int batch, ref TEpilogue epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (typeof(T) != typeof(float))
            throw new NotSupportedException($"Input-major weights are float; the product was asked for {typeof(T).Name}.");
        layer.RequireBatch(inputs.Length, batch);
        fixed (T* x = inputs)
        {
            var job = new Job<TEpilogue>((float*)x, layer, batch, epilogue);
            if (Vector512.IsHardwareAccelerated) Dispatch<T, Vector512<float>, Simd512<float>, TEpilogue>(ref job);
            else if (Vector256.IsHardwareAccelerated) Dispatch<T, Vector256<float>, Simd256<float>, TEpilogue>(ref job);
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
        if (WorkSharing.Parts > 1 && runs >= 2 && work >= SharedWorkThreshold)
            WorkSharing.Run(&Part<T, TVector, TSimd, TEpilogue>, Unsafe.AsPointer(ref job));
        else
            Compute<T, TVector, TSimd, TEpilogue>(ref job, 0, runs);
    }

    /// <summary>Runs of up to eight vectors of units.</summary>
    static int Runs<TVector, TSimd>(InputMajorDense layer) where TVector : struct where TSimd : ISimd<float, TVector> =>
        (layer.PaddedUnits + RunWidth<TVector, TSimd>() - 1) / RunWidth<TVector, TSimd>();

    static int RunWidth<TVector, TSimd>() where TVector : struct where TSimd : ISimd<float, TVector> => 8 * TSimd.Count;

    static void Part<T, TVector, TSimd, TEpilogue>(void* state, int part)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<float, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        ref var job = ref Unsafe.AsRef<Job<TEpilogue>>(state);
        var (first, last) = WorkSharing.Range(Runs<TVector, TSimd>(job.Layer), part);
        Compute<T, TVector, TSimd, TEpilogue>(ref job, first, last);
    }

    /// <summary>Every row times the runs [firstRun, lastRun).</summary>
    [SkipLocalsInit]
    static void Compute<T, TVector, TSimd, TEpilogue>(ref Job<TEpilogue> job, int firstRun, int lastRun)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<float, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        var layer = job.Layer;
        int inputs = layer.Inputs, stride = layer.PaddedUnits, width = RunWidth<TVector, TSimd>();
        // T is float (checked by Multiply); the epilogue takes the sums as T.
        Span<T> values = stackalloc T[8 * 16];
        var sums = MemoryMarshal.Cast<T, float>(values);
        ref float weights = ref layer.Start;
        for (int row = 0; row < job.Batch; row++)
        {
            float* x = job.Inputs + (nint)row * inputs;
            for (int run = firstRun; run < lastRun; run++)
            {
                int unit = run * width, vectors = Math.Min(8, (stride - unit) / TSimd.Count);
                ref float first = ref Unsafe.Add(ref weights, unit);
                if (vectors == 8) EightVectors<TVector, TSimd>(x, ref first, inputs, stride, ref sums[0]);
                else
                    for (int v = 0; v < vectors; v++)
                        OneVector<TVector, TSimd>(x, ref Unsafe.Add(ref first, v * TSimd.Count), inputs, stride, ref sums[v * TSimd.Count]);
                int count = Math.Min(vectors * TSimd.Count, layer.Units - unit);
                job.Epilogue.Apply(row, unit, values[..count]);
            }
        }
    }

    /// <summary>Eight vectors of units' sums over all inputs: sixteen accumulators, the inputs taken two at a time.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void EightVectors<TVector, TSimd>(float* x, ref float w, int inputs, int stride, ref float sums)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        nint count = TSimd.Count;
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero, c4 = TSimd.Zero, c5 = TSimd.Zero, c6 = TSimd.Zero, c7 = TSimd.Zero;
        TVector d0 = TSimd.Zero, d1 = TSimd.Zero, d2 = TSimd.Zero, d3 = TSimd.Zero, d4 = TSimd.Zero, d5 = TSimd.Zero, d6 = TSimd.Zero, d7 = TSimd.Zero;
        // Inputs two at a time, the second set skipping the last input of an odd count.
        for (int p = 0; p < inputs; p += 2, w = ref Unsafe.Add(ref w, 2 * stride))
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
            if (p + 1 == inputs) break;
            ref float next = ref Unsafe.Add(ref w, stride);
            TVector b = TSimd.Broadcast(x[p + 1]);
            d0 = TSimd.MultiplyAdd(b, TSimd.Load(ref next), d0);
            d1 = TSimd.MultiplyAdd(b, TSimd.Load(ref Unsafe.Add(ref next, count)), d1);
            d2 = TSimd.MultiplyAdd(b, TSimd.Load(ref Unsafe.Add(ref next, 2 * count)), d2);
            d3 = TSimd.MultiplyAdd(b, TSimd.Load(ref Unsafe.Add(ref next, 3 * count)), d3);
            d4 = TSimd.MultiplyAdd(b, TSimd.Load(ref Unsafe.Add(ref next, 4 * count)), d4);
            d5 = TSimd.MultiplyAdd(b, TSimd.Load(ref Unsafe.Add(ref next, 5 * count)), d5);
            d6 = TSimd.MultiplyAdd(b, TSimd.Load(ref Unsafe.Add(ref next, 6 * count)), d6);
            d7 = TSimd.MultiplyAdd(b, TSimd.Load(ref Unsafe.Add(ref next, 7 * count)), d7);
        }
        TSimd.Store(TSimd.Add(c0, d0), ref sums);
        TSimd.Store(TSimd.Add(c1, d1), ref Unsafe.Add(ref sums, count));
        TSimd.Store(TSimd.Add(c2, d2), ref Unsafe.Add(ref sums, 2 * count));
        TSimd.Store(TSimd.Add(c3, d3), ref Unsafe.Add(ref sums, 3 * count));
        TSimd.Store(TSimd.Add(c4, d4), ref Unsafe.Add(ref sums, 4 * count));
        TSimd.Store(TSimd.Add(c5, d5), ref Unsafe.Add(ref sums, 5 * count));
        TSimd.Store(TSimd.Add(c6, d6), ref Unsafe.Add(ref sums, 6 * count));
        TSimd.Store(TSimd.Add(c7, d7), ref Unsafe.Add(ref sums, 7 * count));
    }

    /// <summary>One vector of units' sums (the runs after the last whole one), two accumulators over alternate inputs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void OneVector<TVector, TSimd>(float* x, ref float w, int inputs, int stride, ref float sums)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        TVector c = TSimd.Zero, d = TSimd.Zero;
        for (int p = 0; p < inputs; p += 2, w = ref Unsafe.Add(ref w, 2 * stride))
        {
            c = TSimd.MultiplyAdd(TSimd.Broadcast(x[p]), TSimd.Load(ref w), c);
            if (p + 1 == inputs) break;
            d = TSimd.MultiplyAdd(TSimd.Broadcast(x[p + 1]), TSimd.Load(ref Unsafe.Add(ref w, stride)), d);
        }
        TSimd.Store(TSimd.Add(c, d), ref sums);
    }
}
