using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

// The product's micro-kernels: the innermost loops, one tile of C held in registers.
public static unsafe partial class Gemm
{
    /// <summary>Eight dot products of A's row with eight consecutive rows of B (k apart) into
    /// <paramref name="results"/>: eight independent FMA chains, each load of A shared by eight, and the eight sums
    /// reduced together (for 512-bit floats: halves added, then three rounds of pairwise adds across the eight).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void EightDots<T, TVector, TSimd>(ref T a, ref T b, int k, ref T results)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count, stride = k;
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero;
        TVector c4 = TSimd.Zero, c5 = TSimd.Zero, c6 = TSimd.Zero, c7 = TSimd.Zero;
        ref T b4 = ref Unsafe.Add(ref b, 4 * stride);
        nint p = 0;
        for (; p + count <= k; p += count)
        {
            // Eight rows of B stream at once, more than the L1 prefetcher follows: each row's line eight lines ahead is
            // asked for (a single prediction 5-10% faster; sixteen lines ahead measured slower). Past a row's end it
            // asks for the next row's start, or for nothing: a prefetch never faults.
            if (Sse.IsSupported)
            {
                byte* ahead = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref b, p + 128));
                nint rowBytes = stride * Unsafe.SizeOf<T>();
                Sse.Prefetch0(ahead); Sse.Prefetch0(ahead + rowBytes); Sse.Prefetch0(ahead + 2 * rowBytes); Sse.Prefetch0(ahead + 3 * rowBytes);
                Sse.Prefetch0(ahead + 4 * rowBytes); Sse.Prefetch0(ahead + 5 * rowBytes); Sse.Prefetch0(ahead + 6 * rowBytes); Sse.Prefetch0(ahead + 7 * rowBytes);
            }
            TVector x = TSimd.Load(ref Unsafe.Add(ref a, p));
            c0 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, p)), c0);
            c1 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, stride + p)), c1);
            c2 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, 2 * stride + p)), c2);
            c3 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, 3 * stride + p)), c3);
            c4 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, p)), c4);
            c5 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, stride + p)), c5);
            c6 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, 2 * stride + p)), c6);
            c7 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, 3 * stride + p)), c7);
        }
        if (typeof(TVector) == typeof(Vector512<float>) && Avx.IsSupported)
            Sums8(Unsafe.As<TVector, Vector512<float>>(ref c0), Unsafe.As<TVector, Vector512<float>>(ref c1),
                Unsafe.As<TVector, Vector512<float>>(ref c2), Unsafe.As<TVector, Vector512<float>>(ref c3),
                Unsafe.As<TVector, Vector512<float>>(ref c4), Unsafe.As<TVector, Vector512<float>>(ref c5),
                Unsafe.As<TVector, Vector512<float>>(ref c6), Unsafe.As<TVector, Vector512<float>>(ref c7))
                .StoreUnsafe(ref Unsafe.As<T, float>(ref results));
        else
        {
            results = TSimd.Sum(c0); Unsafe.Add(ref results, 1) = TSimd.Sum(c1);
            Unsafe.Add(ref results, 2) = TSimd.Sum(c2); Unsafe.Add(ref results, 3) = TSimd.Sum(c3);
            Unsafe.Add(ref results, 4) = TSimd.Sum(c4); Unsafe.Add(ref results, 5) = TSimd.Sum(c5);
            Unsafe.Add(ref results, 6) = TSimd.Sum(c6); Unsafe.Add(ref results, 7) = TSimd.Sum(c7);
        }
        for (; p < k; p++)
        {
            T x = Unsafe.Add(ref a, p);
            for (int j = 0; j < 8; j++) Unsafe.Add(ref results, j) += x * Unsafe.Add(ref b, j * stride + p);
        }

        // Each sum's 512-bit halves added, then pairwise adds within 128-bit lanes leave sum j's lane-l part at element
        // j % 4 of lane l of h0123 (j < 4) or h4567; the last step adds the lanes.
        static Vector256<float> Sums8(Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3,
            Vector512<float> c4, Vector512<float> c5, Vector512<float> c6, Vector512<float> c7)
        {
            Vector256<float> v0 = c0.GetLower() + c0.GetUpper(), v1 = c1.GetLower() + c1.GetUpper();
            Vector256<float> v2 = c2.GetLower() + c2.GetUpper(), v3 = c3.GetLower() + c3.GetUpper();
            Vector256<float> v4 = c4.GetLower() + c4.GetUpper(), v5 = c5.GetLower() + c5.GetUpper();
            Vector256<float> v6 = c6.GetLower() + c6.GetUpper(), v7 = c7.GetLower() + c7.GetUpper();
            var h0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(v0, v1), Avx.HorizontalAdd(v2, v3));
            var h4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(v4, v5), Avx.HorizontalAdd(v6, v7));
            return Avx.Permute2x128(h0123, h4567, 0x20) + Avx.Permute2x128(h0123, h4567, 0x31);
        }
    }

    // The micro-kernels are kept out of line: inlined into Compute they shared its registers, and the JIT reloaded
    // loop bounds from the stack on every step of the inner loop (half the FMA rate on a core with two FMA units).

    /// <summary>Eight rows of C times one panel: 16 accumulators, enough independent FMA chains for two FMA units
    /// of four cycles' latency; each step loads the panel row once and broadcasts eight values of A. The panel's rows lie
    /// <paramref name="panelStride"/> apart: a packed panel's two vectors, or a row of <see cref="InputMajorDense"/>.</summary>
    /// <remarks>A packed tile of A ([depth][row]: rows 1 apart, depths 8) with 512-bit vectors takes a loop of its own,
    /// where each row's value is read for its second FMA through a twin pointer the JIT cannot prove equal to the first
    /// (<see cref="opaqueZero"/>). Otherwise the JIT loads the value once into a register shared by the row's two FMAs;
    /// this way each FMA broadcasts it from memory itself (AVX-512's embedded broadcast), and a step is 2 loads and 16
    /// FMAs instead of 2 loads, 8 broadcasts and 16 FMAs (+4-9% on the 2048 layer and the MLP's steps). The same products
    /// summed in the same order: the same bits. Elsewhere the twin reads would need an index register (no faster,
    /// measured), and without embedded broadcasts (256-bit vectors) each FMA would need a broadcast instruction.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void EightRows<T, TVector, TSimd>(ref T a, nint rowStride, nint depthStride, ref T panel, nint panelStride, int k, ref T t, bool carried)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count;
        TVector c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero;
        TVector c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero;
        TVector c40 = TSimd.Zero, c41 = TSimd.Zero, c50 = TSimd.Zero, c51 = TSimd.Zero;
        TVector c60 = TSimd.Zero, c61 = TSimd.Zero, c70 = TSimd.Zero, c71 = TSimd.Zero;
        if (carried)
        {
            c00 = Load(ref t, 0); c01 = Load(ref t, 1); c10 = Load(ref t, 2); c11 = Load(ref t, 3);
            c20 = Load(ref t, 4); c21 = Load(ref t, 5); c30 = Load(ref t, 6); c31 = Load(ref t, 7);
            c40 = Load(ref t, 8); c41 = Load(ref t, 9); c50 = Load(ref t, 10); c51 = Load(ref t, 11);
            c60 = Load(ref t, 12); c61 = Load(ref t, 13); c70 = Load(ref t, 14); c71 = Load(ref t, 15);
        }
        if (typeof(TVector) == typeof(Vector512<T>) && rowStride == 1 && depthStride == RowsPerTile)
        {
            ref T twin = ref Unsafe.Add(ref a, opaqueZero);
            for (; k > 0; k--)
            {
                TVector b0 = TSimd.Load(ref panel), b1 = TSimd.Load(ref Unsafe.Add(ref panel, count));
                c00 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(a), c00); c01 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(twin), c01);
                c10 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 1)), c10); c11 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 1)), c11);
                c20 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 2)), c20); c21 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 2)), c21);
                c30 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 3)), c30); c31 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 3)), c31);
                c40 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 4)), c40); c41 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 4)), c41);
                c50 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 5)), c50); c51 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 5)), c51);
                c60 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 6)), c60); c61 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 6)), c61);
                c70 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 7)), c70); c71 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 7)), c71);
                a = ref Unsafe.Add(ref a, RowsPerTile);
                twin = ref Unsafe.Add(ref twin, RowsPerTile);
                panel = ref Unsafe.Add(ref panel, panelStride);
            }
        }
        else
        {
            // Rows 0-3 and 4-7 from two moving bases, each row at base + r·rowStride.
            ref T upper = ref a;
            ref T lower = ref Unsafe.Add(ref a, 4 * rowStride);
            nint twoRows = 2 * rowStride, threeRows = 3 * rowStride;
            for (; k > 0; k--)
            {
                TVector b0 = TSimd.Load(ref panel), b1 = TSimd.Load(ref Unsafe.Add(ref panel, count));
                TVector x = TSimd.Broadcast(upper);
                c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(Unsafe.Add(ref upper, rowStride));
                c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(Unsafe.Add(ref upper, twoRows));
                c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(Unsafe.Add(ref upper, threeRows));
                c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(lower);
                c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(Unsafe.Add(ref lower, rowStride));
                c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                x = TSimd.Broadcast(Unsafe.Add(ref lower, twoRows));
                c60 = TSimd.MultiplyAdd(x, b0, c60); c61 = TSimd.MultiplyAdd(x, b1, c61);
                x = TSimd.Broadcast(Unsafe.Add(ref lower, threeRows));
                c70 = TSimd.MultiplyAdd(x, b0, c70); c71 = TSimd.MultiplyAdd(x, b1, c71);
                upper = ref Unsafe.Add(ref upper, depthStride);
                lower = ref Unsafe.Add(ref lower, depthStride);
                panel = ref Unsafe.Add(ref panel, panelStride);
            }
        }
        Store(c00, ref t, 0); Store(c01, ref t, 1); Store(c10, ref t, 2); Store(c11, ref t, 3);
        Store(c20, ref t, 4); Store(c21, ref t, 5); Store(c30, ref t, 6); Store(c31, ref t, 7);
        Store(c40, ref t, 8); Store(c41, ref t, 9); Store(c50, ref t, 10); Store(c51, ref t, 11);
        Store(c60, ref t, 12); Store(c61, ref t, 13); Store(c70, ref t, 14); Store(c71, ref t, 15);

        static TVector Load(ref T t, int vector) => TSimd.Load(ref Unsafe.Add(ref t, vector * TSimd.Count));
        static void Store(TVector value, ref T t, int vector) => TSimd.Store(value, ref Unsafe.Add(ref t, vector * TSimd.Count));
    }

    /// <summary>An offset of zero that the JIT cannot see through (nothing writes it). A compiler that did see through it
    /// would merge each row's two reads again: the kernel would lose its gain, never its correctness.</summary>
    static nint opaqueZero = 0;

    /// <summary>Four rows of C times one panel (the rows an eight-row tile leaves).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void FourRows<T, TVector, TSimd>(ref T a, nint rowStride, nint depthStride, ref T panel, int k, ref T t, bool carried)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count;
        TVector c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero;
        TVector c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero;
        if (carried)
        {
            c00 = TSimd.Load(ref t); c01 = TSimd.Load(ref Unsafe.Add(ref t, count));
            c10 = TSimd.Load(ref Unsafe.Add(ref t, 2 * count)); c11 = TSimd.Load(ref Unsafe.Add(ref t, 3 * count));
            c20 = TSimd.Load(ref Unsafe.Add(ref t, 4 * count)); c21 = TSimd.Load(ref Unsafe.Add(ref t, 5 * count));
            c30 = TSimd.Load(ref Unsafe.Add(ref t, 6 * count)); c31 = TSimd.Load(ref Unsafe.Add(ref t, 7 * count));
        }
        nint twoRows = 2 * rowStride, threeRows = 3 * rowStride;
        for (; k > 0; k--)
        {
            TVector b0 = TSimd.Load(ref panel), b1 = TSimd.Load(ref Unsafe.Add(ref panel, count));
            TVector x = TSimd.Broadcast(a);
            c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
            x = TSimd.Broadcast(Unsafe.Add(ref a, rowStride));
            c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
            x = TSimd.Broadcast(Unsafe.Add(ref a, twoRows));
            c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
            x = TSimd.Broadcast(Unsafe.Add(ref a, threeRows));
            c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
            a = ref Unsafe.Add(ref a, depthStride);
            panel = ref Unsafe.Add(ref panel, 2 * count);
        }
        TSimd.Store(c00, ref t); TSimd.Store(c01, ref Unsafe.Add(ref t, count));
        TSimd.Store(c10, ref Unsafe.Add(ref t, 2 * count)); TSimd.Store(c11, ref Unsafe.Add(ref t, 3 * count));
        TSimd.Store(c20, ref Unsafe.Add(ref t, 4 * count)); TSimd.Store(c21, ref Unsafe.Add(ref t, 5 * count));
        TSimd.Store(c30, ref Unsafe.Add(ref t, 6 * count)); TSimd.Store(c31, ref Unsafe.Add(ref t, 7 * count));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void OneRow<T, TVector, TSimd>(ref T a, nint depthStride, ref T panel, int k, ref T t, bool carried)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count;
        TVector c0 = carried ? TSimd.Load(ref t) : TSimd.Zero;
        TVector c1 = carried ? TSimd.Load(ref Unsafe.Add(ref t, count)) : TSimd.Zero;
        for (; k > 0; k--)
        {
            TVector x = TSimd.Broadcast(a);
            c0 = TSimd.MultiplyAdd(x, TSimd.Load(ref panel), c0);
            c1 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref panel, count)), c1);
            a = ref Unsafe.Add(ref a, depthStride);
            panel = ref Unsafe.Add(ref panel, 2 * count);
        }
        TSimd.Store(c0, ref t);
        TSimd.Store(c1, ref Unsafe.Add(ref t, count));
    }
}
