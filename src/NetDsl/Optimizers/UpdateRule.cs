using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetDsl.Kernels;

namespace NetDsl.Optimizers;

/// <summary>One optimizer's update of a vector of parameters, written once for every instruction set. It reads θ and g
/// and may keep up to two state values per parameter (moments, accumulators).</summary>
internal interface IUpdateRule
{
    TVector Update<TVector, TSimd>(TVector theta, TVector gradient, ref TVector first, ref TVector second)
        where TVector : struct where TSimd : ISimd<float, TVector>;
}

/// <summary>The loop every optimizer shares: 512-bit vectors, then 256-bit, then scalars, over θ, dθ and the state.
/// A long θ is split between the two cores (<see cref="WorkSharing"/>); every value's update is the same either way.</summary>
internal static unsafe class UpdateLoop
{
    static readonly float[] NoState = new float[16];

    /// <summary>Parameters below which an update stays on one core: Adam's square root and division cost about half a
    /// nanosecond per value, so below this the hand-off (about a microsecond) would not be repaid.</summary>
    const int SharedUpdateThreshold = 32 * 1024;

    /// <remarks>Only <see cref="OptimizerBase.Step"/> calls it, after checking that θ and dθ have the same length.</remarks>
    public static void Run<TRule>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second, in TRule rule)
        where TRule : struct, IUpdateRule
    {
        if (parameters.Length < SharedUpdateThreshold || WorkSharing.Parts < 2)
        {
            RunRange(parameters, gradients, first, second, rule);
            return;
        }
        var job = new SharedUpdate<TRule>(parameters, gradients, first, second, rule);
        WorkSharing.Run(&UpdatePart<TRule>, ref job);
    }

    /// <summary>One update's operands, on the caller's stack while both parts run.</summary>
    ref struct SharedUpdate<TRule>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second, TRule rule)
        where TRule : struct, IUpdateRule
    {
        public readonly Span<float> Parameters = parameters, First = first, Second = second;
        public readonly ReadOnlySpan<float> Gradients = gradients;
        public readonly TRule Rule = rule;
    }

    static void UpdatePart<TRule>(ref SharedUpdate<TRule> job, int part) where TRule : struct, IUpdateRule
    {
        // The split falls on a whole 512-bit vector, so each part's vector loop meets no tail but the last.
        int split = job.Parameters.Length / 2 / 16 * 16;
        var (start, length) = part == 0 ? (0, split) : (split, job.Parameters.Length - split);
        RunRange(job.Parameters.Slice(start, length), job.Gradients.Slice(start, length),
            job.First.IsEmpty ? default : job.First.Slice(start, length),
            job.Second.IsEmpty ? default : job.Second.Slice(start, length), job.Rule);
    }

    static void RunRange<TRule>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second, in TRule rule)
        where TRule : struct, IUpdateRule
    {
        ref float theta = ref MemoryMarshal.GetReference(parameters);
        ref float gradient = ref MemoryMarshal.GetReference(gradients);
        // Rules without state get empty spans: they read one shared vector of zeros and never store to it.
        ref float m = ref first.IsEmpty ? ref MemoryMarshal.GetArrayDataReference(NoState) : ref MemoryMarshal.GetReference(first);
        ref float v = ref second.IsEmpty ? ref MemoryMarshal.GetArrayDataReference(NoState) : ref MemoryMarshal.GetReference(second);
        int strideFirst = first.IsEmpty ? 0 : 1, strideSecond = second.IsEmpty ? 0 : 1;
        int i = 0, n = parameters.Length;
        if (Vector512.IsHardwareAccelerated) i = Run<Vector512<float>, Simd512<float>, TRule>(ref theta, ref gradient, ref m, ref v, strideFirst, strideSecond, i, n, rule);
        if (Vector256.IsHardwareAccelerated) i = Run<Vector256<float>, Simd256<float>, TRule>(ref theta, ref gradient, ref m, ref v, strideFirst, strideSecond, i, n, rule);
        Run<float, Scalar<float>, TRule>(ref theta, ref gradient, ref m, ref v, strideFirst, strideSecond, i, n, rule);
    }

    static int Run<TVector, TSimd, TRule>(ref float theta, ref float gradient, ref float m, ref float v, int strideFirst, int strideSecond,
        int i, int n, in TRule rule)
        where TVector : struct where TSimd : ISimd<float, TVector> where TRule : struct, IUpdateRule
    {
        for (; i <= n - TSimd.Count; i += TSimd.Count)
        {
            ref float ti = ref Unsafe.Add(ref theta, i);
            ref float mi = ref Unsafe.Add(ref m, i * strideFirst);
            ref float vi = ref Unsafe.Add(ref v, i * strideSecond);
            TVector first = TSimd.Load(ref mi), second = TSimd.Load(ref vi);
            TVector updated = rule.Update<TVector, TSimd>(TSimd.Load(ref ti), TSimd.Load(ref Unsafe.Add(ref gradient, i)), ref first, ref second);
            TSimd.Store(updated, ref ti);
            if (strideFirst != 0) TSimd.Store(first, ref mi);
            if (strideSecond != 0) TSimd.Store(second, ref vi);
        }
        return i;
    }
}
