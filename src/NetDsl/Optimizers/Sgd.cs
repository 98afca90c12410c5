using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetDsl.Kernels;

namespace NetDsl.Optimizers;

/// <summary>Plain gradient descent, θ ← θ − α·dθ. Batch, mini-batch and stochastic descent are this optimizer fed
/// with the whole set, mini-batches or single samples.</summary>
public sealed class Sgd(double learningRate) : IOptimizer
{
    double learningRate = OptimizerChecks.LearningRate(learningRate);

    /// <inheritdoc />
    public double LearningRate { get => learningRate; set => learningRate = OptimizerChecks.LearningRate(value); }

    /// <inheritdoc />
    public long Steps { get; private set; }

    /// <inheritdoc />
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        OptimizerChecks.SameLength(parameters.Length, gradients.Length);
        ref float theta = ref MemoryMarshal.GetReference(parameters);
        ref float gradient = ref MemoryMarshal.GetReference(gradients);
        float alpha = (float)learningRate;
        int i = 0, n = parameters.Length;
        if (Vector512.IsHardwareAccelerated) i = Run<Vector512<float>, Simd512<float>>(ref theta, ref gradient, i, n, alpha);
        if (Vector256.IsHardwareAccelerated) i = Run<Vector256<float>, Simd256<float>>(ref theta, ref gradient, i, n, alpha);
        Run<float, Scalar<float>>(ref theta, ref gradient, i, n, alpha);
        Steps++;
    }

    static int Run<TVector, TSimd>(ref float theta, ref float gradient, int i, int n, float alpha)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        var minusAlpha = TSimd.Broadcast(-alpha);
        for (; i <= n - TSimd.Count; i += TSimd.Count)
        {
            ref float at = ref Unsafe.Add(ref theta, i);
            TSimd.Store(TSimd.MultiplyAdd(minusAlpha, TSimd.Load(ref Unsafe.Add(ref gradient, i)), TSimd.Load(ref at)), ref at);
        }
        return i;
    }

    /// <inheritdoc />
    public void Reset() => Steps = 0;
}
