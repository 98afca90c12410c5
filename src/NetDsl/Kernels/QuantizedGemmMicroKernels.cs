using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

// The int8 product's micro-kernels: one row of quantized inputs against a tile of packed weights, per instruction set.
public static unsafe partial class QuantizedGemm
{
    /// <summary>128 units' integer sums over all inputs: eight 16-unit accumulators; each group of four steps
    /// broadcasts sixteen inputs and adds four lines of weights per accumulator in 16 bits before one widening.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void EightBlocks(byte* x, ref sbyte tile, int inputs, int paddedUnits, Span<int> sums)
    {
        var ones = Vector512.Create((short)1);
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        sbyte* w = (sbyte*)Unsafe.AsPointer(ref tile);
        nint step = paddedUnits * 4;
        int p = 0;
        // Four steps' byte products added in 16 bits before they are widened: one widening multiply-add per four lines.
        for (; p + 16 <= inputs; p += 16, w += 4 * step)
        {
            var q0 = Vector512.Create(*(int*)(x + p)).AsByte();
            var q1 = Vector512.Create(*(int*)(x + p + 4)).AsByte();
            var q2 = Vector512.Create(*(int*)(x + p + 8)).AsByte();
            var q3 = Vector512.Create(*(int*)(x + p + 12)).AsByte();
            a0 += Widen(Four(q0, q1, q2, q3, w, step), ones);
            a1 += Widen(Four(q0, q1, q2, q3, w + 64, step), ones);
            a2 += Widen(Four(q0, q1, q2, q3, w + 128, step), ones);
            a3 += Widen(Four(q0, q1, q2, q3, w + 192, step), ones);
            a4 += Widen(Four(q0, q1, q2, q3, w + 256, step), ones);
            a5 += Widen(Four(q0, q1, q2, q3, w + 320, step), ones);
            a6 += Widen(Four(q0, q1, q2, q3, w + 384, step), ones);
            a7 += Widen(Four(q0, q1, q2, q3, w + 448, step), ones);
        }
        for (; p < inputs; p += 4, w += step)
        {
            var q = Vector512.Create(*(int*)(x + p)).AsByte();
            a0 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w)), ones);
            a1 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w + 64)), ones);
            a2 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w + 128)), ones);
            a3 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w + 192)), ones);
            a4 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w + 256)), ones);
            a5 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w + 320)), ones);
            a6 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w + 384)), ones);
            a7 += Widen(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(w + 448)), ones);
        }
        ref int s = ref MemoryMarshal.GetReference(sums);
        a0.StoreUnsafe(ref s); a1.StoreUnsafe(ref s, 16); a2.StoreUnsafe(ref s, 32); a3.StoreUnsafe(ref s, 48);
        a4.StoreUnsafe(ref s, 64); a5.StoreUnsafe(ref s, 80); a6.StoreUnsafe(ref s, 96); a7.StoreUnsafe(ref s, 112);
    }

    /// <summary>Four consecutive steps' byte products for one line of sixteen units, summed in 16 bits (each at most
    /// 2 · 31 · 127 in magnitude, four of them within 2¹⁵).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<short> Four(Vector512<byte> q0, Vector512<byte> q1, Vector512<byte> q2, Vector512<byte> q3, sbyte* w, nint step) =>
        Avx512BW.MultiplyAddAdjacent(q0, Vector512.Load(w)) + Avx512BW.MultiplyAddAdjacent(q1, Vector512.Load(w + step))
        + (Avx512BW.MultiplyAddAdjacent(q2, Vector512.Load(w + 2 * step)) + Avx512BW.MultiplyAddAdjacent(q3, Vector512.Load(w + 3 * step)));

    /// <summary>Adjacent 16-bit pairs summed into 32 bits: each unit's four inputs of a step into one lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<int> Widen(Vector512<short> pairs, Vector512<short> ones) => Avx512BW.MultiplyAddAdjacent(pairs, ones);

    /// <summary>One 16-unit block's integer sums (the layer's last blocks, fewer than a tile).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void OneBlock(byte* x, ref sbyte block, int inputs, int paddedUnits, Span<int> sums)
    {
        var ones = Vector512.Create((short)1);
        Vector512<int> a0 = default, a1 = default;
        sbyte* w = (sbyte*)Unsafe.AsPointer(ref block);
        nint step = paddedUnits * 4;
        int p = 0;
        // Two accumulators over alternate steps: the multiply-adds' latency is not one chain.
        for (; p + 8 <= inputs; p += 8, w += 2 * step)
        {
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(x + p)).AsByte(), Vector512.Load(w)), ones);
            a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(x + p + 4)).AsByte(), Vector512.Load(w + step)), ones);
        }
        if (p < inputs)
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(x + p)).AsByte(), Vector512.Load(w)), ones);
        (a0 + a1).StoreUnsafe(ref MemoryMarshal.GetReference(sums));
    }

    /// <summary>The 256-bit form of <see cref="EightBlocks"/> for processors with AVX2 only: four 16-unit blocks, each
    /// line of weights two vectors, eight accumulators (of the sixteen registers).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void FourBlocks256(byte* x, ref sbyte tile, int inputs, int paddedUnits, Span<int> sums)
    {
        var ones = Vector256.Create((short)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        sbyte* w = (sbyte*)Unsafe.AsPointer(ref tile);
        nint step = paddedUnits * 4;
        int p = 0;
        for (; p + 16 <= inputs; p += 16, w += 4 * step)
        {
            var q0 = Vector256.Create(*(int*)(x + p)).AsByte();
            var q1 = Vector256.Create(*(int*)(x + p + 4)).AsByte();
            var q2 = Vector256.Create(*(int*)(x + p + 8)).AsByte();
            var q3 = Vector256.Create(*(int*)(x + p + 12)).AsByte();
            a0 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w, step), ones);
            a1 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w + 32, step), ones);
            a2 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w + 64, step), ones);
            a3 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w + 96, step), ones);
            a4 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w + 128, step), ones);
            a5 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w + 160, step), ones);
            a6 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w + 192, step), ones);
            a7 += Avx2.MultiplyAddAdjacent(Four256(q0, q1, q2, q3, w + 224, step), ones);
        }
        for (; p < inputs; p += 4, w += step)
        {
            var q = Vector256.Create(*(int*)(x + p)).AsByte();
            a0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w)), ones);
            a1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 32)), ones);
            a2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 64)), ones);
            a3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 96)), ones);
            a4 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 128)), ones);
            a5 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 160)), ones);
            a6 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 192)), ones);
            a7 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 224)), ones);
        }
        ref int s = ref MemoryMarshal.GetReference(sums);
        a0.StoreUnsafe(ref s); a1.StoreUnsafe(ref s, 8); a2.StoreUnsafe(ref s, 16); a3.StoreUnsafe(ref s, 24);
        a4.StoreUnsafe(ref s, 32); a5.StoreUnsafe(ref s, 40); a6.StoreUnsafe(ref s, 48); a7.StoreUnsafe(ref s, 56);
    }

    /// <summary>One 16-unit block in 256-bit vectors (the blocks after the last group of four).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void OneBlock256(byte* x, ref sbyte block, int inputs, int paddedUnits, Span<int> sums)
    {
        var ones = Vector256.Create((short)1);
        Vector256<int> a0 = default, a1 = default;
        sbyte* w = (sbyte*)Unsafe.AsPointer(ref block);
        nint step = paddedUnits * 4;
        for (int p = 0; p < inputs; p += 4, w += step)
        {
            var q = Vector256.Create(*(int*)(x + p)).AsByte();
            a0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w)), ones);
            a1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(w + 32)), ones);
        }
        a0.StoreUnsafe(ref MemoryMarshal.GetReference(sums));
        a1.StoreUnsafe(ref MemoryMarshal.GetReference(sums), 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<short> Four256(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3, sbyte* w, nint step) =>
        Avx2.MultiplyAddAdjacent(q0, Vector256.Load(w)) + Avx2.MultiplyAddAdjacent(q1, Vector256.Load(w + step))
        + (Avx2.MultiplyAddAdjacent(q2, Vector256.Load(w + 2 * step)) + Avx2.MultiplyAddAdjacent(q3, Vector256.Load(w + 3 * step)));

    /// <summary>The same integer sums without vectors, for processors without AVX-512 BW.</summary>
    static void Portable(byte* x, ref sbyte tile, int inputs, int paddedUnits, int units, Span<int> sums)
    {
        sums[..units].Clear();
        for (int p = 0; p < inputs; p += 4)
        {
            ref sbyte line = ref Unsafe.Add(ref tile, (p >> 2) * paddedUnits * 4);
            int x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3];
            for (int j = 0; j < units; j++)
            {
                ref sbyte w = ref Unsafe.Add(ref line, j * 4);
                sums[j] += x0 * w + x1 * Unsafe.Add(ref w, 1) + x2 * Unsafe.Add(ref w, 2) + x3 * Unsafe.Add(ref w, 3);
            }
        }
    }
}
