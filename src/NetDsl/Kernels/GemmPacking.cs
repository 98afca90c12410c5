using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

// Packing of the product's operands into the layouts the micro-kernels stream, and the register transposes it uses.
public static unsafe partial class Gemm
{
    /// <summary>Copies depths [<paramref name="firstDepth"/>, + <paramref name="depths"/>) of the 8-row tiles of op(A)
    /// starting at <paramref name="firstRow"/> into <paramref name="packed"/>, each tile stored depths × 8 rows contiguous.</summary>
    static void PackA<T>(in Operands<T> operands, int firstRow, int tiles, int firstDepth, int depths, Span<T> packed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = operands.M, k = operands.K;
        ref T a = ref Unsafe.Add(ref MemoryMarshal.GetReference(operands.A), operands.TransposeA ? firstDepth * m : firstDepth);
        ref T target = ref MemoryMarshal.GetReference(packed);
        for (int t = 0; t < tiles; t++)
        {
            int row = firstRow + t * RowsPerTile;
            ref T tile = ref Unsafe.Add(ref target, t * RowsPerTile * depths);
            if (operands.TransposeA && Vector256<T>.Count == RowsPerTile && Vector256.IsHardwareAccelerated)
                for (int p = 0; p < depths; p++)
                    Vector256.LoadUnsafe(ref Unsafe.Add(ref a, p * m + row)).StoreUnsafe(ref Unsafe.Add(ref tile, p * RowsPerTile));
            else if (operands.TransposeA)
                for (int p = 0; p < depths; p++)
                    for (int r = 0; r < RowsPerTile; r++)
                        Unsafe.Add(ref tile, p * RowsPerTile + r) = Unsafe.Add(ref a, p * m + row + r);
            else
            {
                ref T source = ref Unsafe.Add(ref a, row * k);
                int p = 0;
                if (typeof(T) == typeof(float) && Avx.IsSupported)
                    for (; p + 8 <= depths; p += 8)
                        Transpose8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref source, p)), k,
                            ref Unsafe.As<T, float>(ref Unsafe.Add(ref tile, p * RowsPerTile)));
                for (; p < depths; p++)
                    for (int r = 0; r < RowsPerTile; r++)
                        Unsafe.Add(ref tile, p * RowsPerTile + r) = Unsafe.Add(ref source, r * k + p);
            }
        }
    }

    /// <summary>Writes the transpose of an 8×8 block (rows <paramref name="sourceStride"/> apart) as 8 contiguous rows
    /// of 8, in registers: 32-bit and 64-bit interleaves within 128-bit lanes, then the lanes exchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8(ref float source, int sourceStride, ref float target)
    {
        nint stride = sourceStride;
        var r0 = Vector256.LoadUnsafe(ref source);
        var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, stride));
        var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 2 * stride));
        var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 3 * stride));
        var r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 4 * stride));
        var r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 5 * stride));
        var r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 6 * stride));
        var r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 7 * stride));
        // t: pairs of rows interleaved; s: four rows' values at depths {0,4}, {1,5}, {2,6}, {3,7} per 128-bit lane.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).StoreUnsafe(ref target);
        Avx.Permute2x128(s1, s5, 0x20).StoreUnsafe(ref target, 8);
        Avx.Permute2x128(s2, s6, 0x20).StoreUnsafe(ref target, 16);
        Avx.Permute2x128(s3, s7, 0x20).StoreUnsafe(ref target, 24);
        Avx.Permute2x128(s0, s4, 0x31).StoreUnsafe(ref target, 32);
        Avx.Permute2x128(s1, s5, 0x31).StoreUnsafe(ref target, 40);
        Avx.Permute2x128(s2, s6, 0x31).StoreUnsafe(ref target, 48);
        Avx.Permute2x128(s3, s7, 0x31).StoreUnsafe(ref target, 56);
    }

    /// <summary>Copies panels [firstPanel, lastPanel) of op(B) (plus the ones column) into <paramref name="packed"/>,
    /// each stored k rows × panelWidth contiguous and zero-padded, so the micro-kernel reads B with unit stride.</summary>
    static void PackB<T>(in Operands<T> operands, int panelWidth, int firstPanel, int lastPanel, Span<T> packed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (operands.Patches != null)
        {
            PackPatches(operands.B, *operands.Patches, panelWidth, firstPanel, lastPanel, packed);
            return;
        }
        int n = operands.N, k = operands.K;
        ref T b = ref MemoryMarshal.GetReference(operands.B);
        for (int panel = firstPanel; panel < lastPanel; panel++)
        {
            int column = panel * panelWidth;
            ref T destination = ref packed[(panel - firstPanel) * panelWidth * k];
            int stored = Math.Max(0, Math.Min(panelWidth, n - column));
            if (!operands.TransposeB && Vector256.IsHardwareAccelerated && stored == panelWidth && panelWidth % Vector256<T>.Count == 0)
            {
                // Whole panel rows by vector moves: a copy call per 32-value row cost as much as the copy.
                for (int p = 0; p < k; p++)
                {
                    ref T source = ref Unsafe.Add(ref b, p * n + column);
                    ref T target = ref Unsafe.Add(ref destination, p * panelWidth);
                    for (int c = 0; c < panelWidth; c += Vector256<T>.Count)
                        Vector256.LoadUnsafe(ref source, (nuint)c).StoreUnsafe(ref target, (nuint)c);
                }
            }
            else if (!operands.TransposeB)
            {
                for (int p = 0; p < k; p++)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref b, p * n + column), stored)
                        .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref destination, p * panelWidth), stored));
            }
            else
            {
                // B is stored n×k: transpose in strips of 16 depths, so the strip's source lines and the panel rows it
                // writes all stay in L1 (writing whole columns down a long panel missed L1 on every store).
                for (int strip = 0; strip < k; strip += 16)
                {
                    int depths = Math.Min(16, k - strip);
                    int c = 0;
                    if (typeof(T) == typeof(float) && Avx512F.IsSupported && depths == 16)
                        for (; c + 16 <= stored; c += 16)
                            Transpose16(ref Unsafe.As<T, float>(ref Unsafe.Add(ref b, (column + c) * k + strip)), k,
                                ref Unsafe.As<T, float>(ref Unsafe.Add(ref destination, strip * panelWidth + c)), panelWidth);
                    for (; c < stored; c++)
                    {
                        ref T source = ref Unsafe.Add(ref b, (column + c) * k + strip);
                        ref T target = ref Unsafe.Add(ref destination, strip * panelWidth + c);
                        for (int p = 0; p < depths; p++) Unsafe.Add(ref target, p * panelWidth) = Unsafe.Add(ref source, p);
                    }
                }
            }
            bool ones = operands.OnesColumn && n - column < panelWidth && n >= column;
            int filled = stored + (ones ? 1 : 0);
            // Only the columns past B (and the ones column) are cleared: a whole-panel clear cost more than the packing
            // for the narrow products of a convolution's weight gradient.
            if (filled < panelWidth || ones)
                ClearPanelTail(ref destination, panelWidth, k, stored, ones);
        }
    }

    /// <summary>In each of a panel's <paramref name="k"/> rows, the columns past B's <paramref name="stored"/>: the ones
    /// column first where <paramref name="ones"/>, then zeros. A narrow product (a small layer, a short batch) clears a
    /// few values in every row, so a row's tail is two masked stores rather than a call to clear it.</summary>
    static void ClearPanelTail<T>(ref T destination, int panelWidth, int k, int stored, bool ones) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int filled = stored + (ones ? 1 : 0);
        if (typeof(T) == typeof(float) && Avx512F.IsSupported && panelWidth == 2 * Vector512<float>.Count)
        {
            // Lane c of the pair of masks is set where column c is cleared; the ones column takes its value the same way.
            var lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            var first = Vector512.GreaterThanOrEqual(lanes, Vector512.Create(stored)).AsSingle();
            var second = Vector512.GreaterThanOrEqual(lanes + Vector512.Create(16), Vector512.Create(stored)).AsSingle();
            var one = ones ? Vector512.Equals(lanes, Vector512.Create(stored)) : Vector512<int>.Zero;
            var oneAbove = ones ? Vector512.Equals(lanes + Vector512.Create(16), Vector512.Create(stored)) : Vector512<int>.Zero;
            Vector512<float> low = Vector512.ConditionalSelect(one.AsSingle(), Vector512<float>.One, Vector512<float>.Zero);
            Vector512<float> high = Vector512.ConditionalSelect(oneAbove.AsSingle(), Vector512<float>.One, Vector512<float>.Zero);
            var row = (float*)Unsafe.AsPointer(ref destination);
            for (int p = 0; p < k; p++, row += panelWidth)
            {
                Avx512F.MaskStore(row, first, low);
                Avx512F.MaskStore(row + 16, second, high);
            }
            return;
        }
        for (int p = 0; p < k; p++)
        {
            ref T row = ref Unsafe.Add(ref destination, p * panelWidth);
            if (ones) Unsafe.Add(ref row, stored) = T.One;
            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref row, filled), panelWidth - filled).Clear();
        }
    }

    /// <summary>Writes the transpose of a 16×16 block (rows <paramref name="sourceStride"/> apart) as 16 rows
    /// <paramref name="targetStride"/> apart, in registers: four rounds of in-register shuffles (32-bit, 64-bit, then
    /// 128-bit lanes twice) cost a fraction of the 256 scalar moves with strided stores they replace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose16(ref float source, int sourceStride, ref float target, int targetStride)
    {
        // After the first two rounds, lane l of q{g}{j} holds rows 4g..4g+3 at depth 4l + j: sixteen registers.
        FourRows(ref source, sourceStride, out var q00, out var q01, out var q02, out var q03);
        FourRows(ref Unsafe.Add(ref source, 4 * sourceStride), sourceStride, out var q10, out var q11, out var q12, out var q13);
        FourRows(ref Unsafe.Add(ref source, 8 * sourceStride), sourceStride, out var q20, out var q21, out var q22, out var q23);
        FourRows(ref Unsafe.Add(ref source, 12 * sourceStride), sourceStride, out var q30, out var q31, out var q32, out var q33);
        Gather(q00, q10, q20, q30, ref target, targetStride);
        Gather(q01, q11, q21, q31, ref Unsafe.Add(ref target, targetStride), targetStride);
        Gather(q02, q12, q22, q32, ref Unsafe.Add(ref target, 2 * targetStride), targetStride);
        Gather(q03, q13, q23, q33, ref Unsafe.Add(ref target, 3 * targetStride), targetStride);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void FourRows(ref float source, int stride, out Vector512<float> j0, out Vector512<float> j1,
            out Vector512<float> j2, out Vector512<float> j3)
        {
            var r0 = Vector512.LoadUnsafe(ref source);
            var r1 = Vector512.LoadUnsafe(ref source, (nuint)stride);
            var r2 = Vector512.LoadUnsafe(ref source, (nuint)(2 * stride));
            var r3 = Vector512.LoadUnsafe(ref source, (nuint)(3 * stride));
            Vector512<double> t0 = Avx512F.UnpackLow(r0, r1).AsDouble(), t1 = Avx512F.UnpackHigh(r0, r1).AsDouble();
            Vector512<double> t2 = Avx512F.UnpackLow(r2, r3).AsDouble(), t3 = Avx512F.UnpackHigh(r2, r3).AsDouble();
            j0 = Avx512F.UnpackLow(t0, t2).AsSingle();
            j1 = Avx512F.UnpackHigh(t0, t2).AsSingle();
            j2 = Avx512F.UnpackLow(t1, t3).AsSingle();
            j3 = Avx512F.UnpackHigh(t1, t3).AsSingle();
        }

        // Depths j, 4 + j, 8 + j and 12 + j: lane l of each row group's register, the four groups side by side.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Gather(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float> g3,
            ref float target, int stride)
        {
            var even01 = Avx512F.Shuffle4x128(g0, g1, 0x88);
            var odd01 = Avx512F.Shuffle4x128(g0, g1, 0xDD);
            var even23 = Avx512F.Shuffle4x128(g2, g3, 0x88);
            var odd23 = Avx512F.Shuffle4x128(g2, g3, 0xDD);
            Avx512F.Shuffle4x128(even01, even23, 0x88).StoreUnsafe(ref target);
            Avx512F.Shuffle4x128(odd01, odd23, 0x88).StoreUnsafe(ref target, (nuint)(4 * stride));
            Avx512F.Shuffle4x128(even01, even23, 0xDD).StoreUnsafe(ref target, (nuint)(8 * stride));
            Avx512F.Shuffle4x128(odd01, odd23, 0xDD).StoreUnsafe(ref target, (nuint)(12 * stride));
        }
    }
}
