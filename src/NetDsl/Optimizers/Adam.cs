using NetDsl.Kernels;

namespace NetDsl.Optimizers;

/// <summary>Adam (Kingma &amp; Ba) with bias correction: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − α·m̂ / (√v̂ + ε) with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ). With a weight decay λ it is AdamW
/// (Loshchilov &amp; Hutter): θ also shrinks by α·λ·θ, decoupled from the gradient.</summary>
public class Adam : OptimizerBase
{
    /// <summary>Creates Adam; the defaults are the paper's (α = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-8).</summary>
    public Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
        : this(learningRate, beta1, beta2, epsilon, 0)
    {
    }

    private protected Adam(double learningRate, double beta1, double beta2, double epsilon, double weightDecay) : base(learningRate)
    {
        Beta1 = Decay(beta1, nameof(beta1));
        Beta2 = Decay(beta2, nameof(beta2));
        Epsilon = Epsilon(epsilon);
        WeightDecay = weightDecay >= 0 ? weightDecay : throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be ≥ 0.");
    }

    /// <summary>Decay of the first-moment average.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment average.</summary>
    public double Beta2 { get; }

    /// <summary>Added to √v̂ so the step stays finite.</summary>
    public new double Epsilon { get; }

    /// <summary>AdamW's decoupled decay λ (0 for Adam).</summary>
    public double WeightDecay { get; }

    /// <summary>m, the first-moment estimate (same layout as θ).</summary>
    public ReadOnlySpan<float> FirstMoment => FirstState;

    /// <summary>v, the second-moment estimate (same layout as θ).</summary>
    public ReadOnlySpan<float> SecondMoment => SecondState;

    /// <inheritdoc />
    public override int StateCopies => 2;

    /// <inheritdoc />
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second)
    {
        // Folding both corrections into the step size: α·m̂/(√v̂ + ε) = α_t·m/(√v + ε·√(1−β₂ᵗ)), α_t = α·√(1−β₂ᵗ)/(1−β₁ᵗ).
        double correction2 = Math.Sqrt(1 - Math.Pow(Beta2, Steps));
        UpdateLoop.Run(parameters, gradients, first, second, new Rule(
            (float)Beta1, (float)(1 - Beta1), (float)Beta2, (float)(1 - Beta2),
            (float)(LearningRate * correction2 / (1 - Math.Pow(Beta1, Steps))),
            (float)(Epsilon * correction2),
            (float)(1 - LearningRate * WeightDecay)));
    }

    /// <summary>1 − β is formed in double and rounded once: in float from the rounded β it is off by up to 1e-5 relative
    /// (0.00099998713 for β₂ = 0.999), and v would drift from PyTorch's.</summary>
    readonly record struct Rule(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float StepSize, float Epsilon, float Shrink) : IUpdateRule
    {
        public TV Update<TV, TS>(TV theta, TV gradient, ref TV m, ref TV v) where TV : struct where TS : ISimd<float, TV>
        {
            m = TS.MultiplyAdd(TS.Broadcast(Beta1), m, TS.Multiply(TS.Broadcast(OneMinusBeta1), gradient));
            v = TS.MultiplyAdd(TS.Broadcast(Beta2), v, TS.Multiply(TS.Broadcast(OneMinusBeta2), TS.Multiply(gradient, gradient)));
            TV shrunk = Shrink == 1 ? theta : TS.Multiply(TS.Broadcast(Shrink), theta);
            return TS.MultiplyAdd(TS.Broadcast(-StepSize), TS.Divide(m, TS.Add(TS.Sqrt(v), TS.Broadcast(Epsilon))), shrunk);
        }
    }
}

/// <summary>AdamW: Adam with decoupled weight decay, θ ← θ − α·λ·θ − α·m̂/(√v̂ + ε) (PyTorch's default λ = 0.01).
/// The decay applies to every value in θ.</summary>
public sealed class AdamW(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01)
    : Adam(learningRate, beta1, beta2, epsilon, weightDecay);
