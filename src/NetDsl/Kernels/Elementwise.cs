using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Kernels;

/// <summary>An operation on one value (or one vector of values), written once for every instruction set;
/// <c>parameter</c> carries a hyperparameter such as a slope, broadcast.</summary>
internal interface IUnaryOperator
{
    static abstract TVector Apply<T, TVector, TSimd>(TVector x, TVector parameter)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>;

    /// <summary>Whether the vector form rounds differently from the scalar one (a vector exp is not the scalar exp):
    /// then the values after the last whole vector go through one more vector, padded, so that a value's result does
    /// not depend on where it lies in the buffer — a row's on the length of its batch.</summary>
    static virtual bool Approximates => false;
}

/// <summary>An operation on a value and its partner at the same index in a second buffer.</summary>
internal interface IBinaryOperator
{
    static abstract TVector Apply<T, TVector, TSimd>(TVector x, TVector y, TVector parameter)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>;
}

/// <summary>Loop drivers: full 512-bit vectors while they fit, then 256-bit, then a scalar tail (for an operator that
/// <see cref="IUnaryOperator.Approximates"/>, one more padded vector of the widest width instead).</summary>
internal static class Elementwise
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Map<T, TOperator>(Span<T> values, T parameter = default)
        where T : unmanaged, IFloatingPointIeee754<T> where TOperator : IUnaryOperator
    {
        ref T x = ref MemoryMarshal.GetReference(values);
        int i = 0, n = values.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            i = MapRun<T, Vector512<T>, Simd512<T>, TOperator>(ref x, i, n, parameter);
            if (TOperator.Approximates && i < n) i = MapTail<T, Vector512<T>, Simd512<T>, TOperator>(values[i..], parameter, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            i = MapRun<T, Vector256<T>, Simd256<T>, TOperator>(ref x, i, n, parameter);
            if (TOperator.Approximates && i < n) i = MapTail<T, Vector256<T>, Simd256<T>, TOperator>(values[i..], parameter, i);
        }
        MapRun<T, T, Scalar<T>, TOperator>(ref x, i, n, parameter);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Combine<T, TOperator>(Span<T> values, ReadOnlySpan<T> others, T parameter = default)
        where T : unmanaged, IFloatingPointIeee754<T> where TOperator : IBinaryOperator
    {
        if (others.Length < values.Length)
            throw new ArgumentException($"The second buffer holds {others.Length} values but {values.Length} are needed.", nameof(others));
        ref T x = ref MemoryMarshal.GetReference(values);
        ref T y = ref MemoryMarshal.GetReference(others);
        int i = 0, n = values.Length;
        if (Vector512.IsHardwareAccelerated) i = CombineRun<T, Vector512<T>, Simd512<T>, TOperator>(ref x, ref y, i, n, parameter);
        if (Vector256.IsHardwareAccelerated) i = CombineRun<T, Vector256<T>, Simd256<T>, TOperator>(ref x, ref y, i, n, parameter);
        CombineRun<T, T, Scalar<T>, TOperator>(ref x, ref y, i, n, parameter);
    }

    /// <summary>destination ← operator(source), through the in-place driver.</summary>
    public static void CopyThen<T, TOperator>(ReadOnlySpan<T> source, Span<T> destination, T parameter)
        where T : unmanaged, IFloatingPointIeee754<T> where TOperator : IUnaryOperator
    {
        source.CopyTo(destination);
        Map<T, TOperator>(destination[..source.Length], parameter);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int MapRun<T, TVector, TSimd, TOperator>(ref T x, int i, int n, T parameter)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TOperator : IUnaryOperator
    {
        var p = TSimd.Broadcast(parameter);
        for (; i <= n - TSimd.Count; i += TSimd.Count)
        {
            ref T at = ref Unsafe.Add(ref x, i);
            TSimd.Store(TOperator.Apply<T, TVector, TSimd>(TSimd.Load(ref at), p), ref at);
        }
        return i;
    }

    /// <summary>The values after the last whole vector (<paramref name="rest"/>, from index <paramref name="at"/>) through
    /// one vector padded with zeros; returns the index past them. Out of line: the loops above stay small to inline.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static int MapTail<T, TVector, TSimd, TOperator>(Span<T> rest, T parameter, int at)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TOperator : IUnaryOperator
    {
        Span<T> lanes = stackalloc T[TSimd.Count];
        lanes.Clear();
        rest.CopyTo(lanes);
        TSimd.Store(TOperator.Apply<T, TVector, TSimd>(TSimd.Load(ref lanes[0]), TSimd.Broadcast(parameter)), ref lanes[0]);
        lanes[..rest.Length].CopyTo(rest);
        return at + rest.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int CombineRun<T, TVector, TSimd, TOperator>(ref T x, ref T y, int i, int n, T parameter)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TOperator : IBinaryOperator
    {
        var p = TSimd.Broadcast(parameter);
        for (; i <= n - TSimd.Count; i += TSimd.Count)
        {
            ref T at = ref Unsafe.Add(ref x, i);
            TSimd.Store(TOperator.Apply<T, TVector, TSimd>(TSimd.Load(ref at), TSimd.Load(ref Unsafe.Add(ref y, i)), p), ref at);
        }
        return i;
    }
}
