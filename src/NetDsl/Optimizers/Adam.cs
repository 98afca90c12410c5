using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetDsl.Kernels;

namespace NetDsl.Optimizers;

/// <summary>Adam (Kingma &amp; Ba) with bias correction: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − α·m̂ / (√v̂ + ε) with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ).</summary>
public sealed class Adam : IOptimizer
{
    double learningRate;
    float[] firstMoment = [], secondMoment = [];

    /// <summary>Creates Adam; the defaults are the paper's (α = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-8).</summary>
    public Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        this.learningRate = OptimizerChecks.LearningRate(learningRate);
        Beta1 = beta1 is >= 0 and < 1 ? beta1 : throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β₁ must lie in [0, 1).");
        Beta2 = beta2 is >= 0 and < 1 ? beta2 : throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β₂ must lie in [0, 1).");
        Epsilon = epsilon > 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be > 0.");
    }

    /// <inheritdoc />
    public double LearningRate { get => learningRate; set => learningRate = OptimizerChecks.LearningRate(value); }

    /// <summary>Decay of the first-moment average.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment average.</summary>
    public double Beta2 { get; }

    /// <summary>Added to √v̂ so the step stays finite.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public long Steps { get; private set; }

    /// <summary>m, the first-moment estimate (same layout as θ).</summary>
    public ReadOnlySpan<float> FirstMoment => firstMoment;

    /// <summary>v, the second-moment estimate (same layout as θ).</summary>
    public ReadOnlySpan<float> SecondMoment => secondMoment;

    /// <inheritdoc />
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        OptimizerChecks.SameLength(parameters.Length, gradients.Length);
        if (firstMoment.Length != parameters.Length)
        {
            firstMoment = new float[parameters.Length];
            secondMoment = new float[parameters.Length];
            Steps = 0;
        }
        Steps++;
        // Folding both corrections into the step size: α·m̂/(√v̂ + ε) = α_t·m/(√v + ε·√(1−β₂ᵗ)), α_t = α·√(1−β₂ᵗ)/(1−β₁ᵗ).
        double correction2 = Math.Sqrt(1 - Math.Pow(Beta2, Steps));
        var step = new Coefficients(
            (float)Beta1, (float)Beta2,
            (float)(learningRate * correction2 / (1 - Math.Pow(Beta1, Steps))),
            (float)(Epsilon * correction2));
        ref float theta = ref MemoryMarshal.GetReference(parameters);
        ref float gradient = ref MemoryMarshal.GetReference(gradients);
        ref float m = ref MemoryMarshal.GetArrayDataReference(firstMoment);
        ref float v = ref MemoryMarshal.GetArrayDataReference(secondMoment);
        int i = 0, n = parameters.Length;
        if (Vector512.IsHardwareAccelerated) i = Run<Vector512<float>, Simd512<float>>(ref theta, ref gradient, ref m, ref v, i, n, step);
        if (Vector256.IsHardwareAccelerated) i = Run<Vector256<float>, Simd256<float>>(ref theta, ref gradient, ref m, ref v, i, n, step);
        Run<float, Scalar<float>>(ref theta, ref gradient, ref m, ref v, i, n, step);
    }

    readonly record struct Coefficients(float Beta1, float Beta2, float StepSize, float Epsilon);

    static int Run<TVector, TSimd>(ref float theta, ref float gradient, ref float m, ref float v, int i, int n, Coefficients c)
        where TVector : struct where TSimd : ISimd<float, TVector>
    {
        TVector beta1 = TSimd.Broadcast(c.Beta1), oneMinusBeta1 = TSimd.Broadcast(1 - c.Beta1);
        TVector beta2 = TSimd.Broadcast(c.Beta2), oneMinusBeta2 = TSimd.Broadcast(1 - c.Beta2);
        TVector minusStep = TSimd.Broadcast(-c.StepSize), epsilon = TSimd.Broadcast(c.Epsilon);
        for (; i <= n - TSimd.Count; i += TSimd.Count)
        {
            TVector g = TSimd.Load(ref Unsafe.Add(ref gradient, i));
            ref float mi = ref Unsafe.Add(ref m, i);
            ref float vi = ref Unsafe.Add(ref v, i);
            ref float ti = ref Unsafe.Add(ref theta, i);
            TVector mNew = TSimd.MultiplyAdd(beta1, TSimd.Load(ref mi), TSimd.Multiply(oneMinusBeta1, g));
            TVector vNew = TSimd.MultiplyAdd(beta2, TSimd.Load(ref vi), TSimd.Multiply(oneMinusBeta2, TSimd.Multiply(g, g)));
            TSimd.Store(mNew, ref mi);
            TSimd.Store(vNew, ref vi);
            TSimd.Store(TSimd.MultiplyAdd(minusStep, TSimd.Divide(mNew, TSimd.Add(TSimd.Sqrt(vNew), epsilon)), TSimd.Load(ref ti)), ref ti);
        }
        return i;
    }

    /// <inheritdoc />
    public void Reset()
    {
        Array.Clear(firstMoment);
        Array.Clear(secondMoment);
        Steps = 0;
    }
}
