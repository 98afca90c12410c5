using NetDsl.Kernels;

namespace NetDsl.Optimizers;

/// <summary>AdaGrad: G ← G + g²; θ ← θ − α·g / (√G + ε).</summary>
public sealed class AdaGrad : OptimizerBase
{
    /// <summary>Creates the optimizer.</summary>
    public AdaGrad(double learningRate = 0.01, double epsilon = 1e-10) : base(learningRate) => Epsilon = Epsilon(epsilon);

    /// <summary>Added to √G.</summary>
    public new double Epsilon { get; }

    /// <inheritdoc />
    public override int StateCopies => 1;

    /// <inheritdoc />
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second) =>
        UpdateLoop.Run(parameters, gradients, first, [], new SquareAverageRule((float)LearningRate, 1f, 1f, (float)Epsilon));
}

/// <summary>RMSprop: s ← βs + (1 − β)g²; θ ← θ − α·g / (√s + ε).</summary>
public sealed class RmsProp : OptimizerBase
{
    /// <summary>Creates the optimizer.</summary>
    public RmsProp(double learningRate = 0.001, double beta = 0.9, double epsilon = 1e-8) : base(learningRate)
    {
        Beta = Decay(beta, nameof(beta));
        Epsilon = Epsilon(epsilon);
    }

    /// <summary>The squared-gradient average's decay.</summary>
    public double Beta { get; }

    /// <summary>Added to √s.</summary>
    public new double Epsilon { get; }

    /// <inheritdoc />
    public override int StateCopies => 1;

    /// <inheritdoc />
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second) =>
        UpdateLoop.Run(parameters, gradients, first, [], new SquareAverageRule((float)LearningRate, (float)Beta, (float)(1 - Beta), (float)Epsilon));
}

/// <summary>s ← decay·s + weight·g²; θ ← θ − α·g/(√s + ε): AdaGrad is decay = weight = 1, RMSprop decay = β, weight = 1 − β.</summary>
internal readonly record struct SquareAverageRule(float Alpha, float Decay, float Weight, float Epsilon) : IUpdateRule
{
    public TV Update<TV, TS>(TV theta, TV gradient, ref TV squares, ref TV second) where TV : struct where TS : ISimd<float, TV>
    {
        squares = TS.MultiplyAdd(TS.Broadcast(Decay), squares, TS.Multiply(TS.Broadcast(Weight), TS.Multiply(gradient, gradient)));
        return TS.MultiplyAdd(TS.Broadcast(-Alpha), TS.Divide(gradient, TS.Add(TS.Sqrt(squares), TS.Broadcast(Epsilon))), theta);
    }
}

/// <summary>AdaDelta (Zeiler 2012): E[g²] ← ρE[g²] + (1 − ρ)g²; Δ = −√(E[Δ²] + ε) / √(E[g²] + ε) · g;
/// E[Δ²] ← ρE[Δ²] + (1 − ρ)Δ²; θ ← θ + α·Δ (α = 1 in the paper: no learning rate to tune).</summary>
public sealed class AdaDelta : OptimizerBase
{
    /// <summary>Creates the optimizer.</summary>
    public AdaDelta(double learningRate = 1.0, double rho = 0.9, double epsilon = 1e-6) : base(learningRate)
    {
        Rho = Decay(rho, nameof(rho));
        Epsilon = Epsilon(epsilon);
    }

    /// <summary>The averages' decay.</summary>
    public double Rho { get; }

    /// <summary>Added under both square roots.</summary>
    public new double Epsilon { get; }

    /// <inheritdoc />
    public override int StateCopies => 2;

    /// <inheritdoc />
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second) =>
        UpdateLoop.Run(parameters, gradients, first, second, new Rule((float)LearningRate, (float)Rho, (float)(1 - Rho), (float)Epsilon));

    /// <summary>1 − ρ comes formed in double and rounded once, as every optimizer's constants.</summary>
    readonly record struct Rule(float Alpha, float Rho, float OneMinusRho, float Epsilon) : IUpdateRule
    {
        public TV Update<TV, TS>(TV theta, TV gradient, ref TV squares, ref TV updates) where TV : struct where TS : ISimd<float, TV>
        {
            TV rho = TS.Broadcast(Rho), rest = TS.Broadcast(OneMinusRho), epsilon = TS.Broadcast(Epsilon);
            squares = TS.MultiplyAdd(rho, squares, TS.Multiply(rest, TS.Multiply(gradient, gradient)));
            TV delta = TS.Multiply(TS.Divide(TS.Sqrt(TS.Add(updates, epsilon)), TS.Sqrt(TS.Add(squares, epsilon))), gradient);
            updates = TS.MultiplyAdd(rho, updates, TS.Multiply(rest, TS.Multiply(delta, delta)));
            return TS.MultiplyAdd(TS.Broadcast(-Alpha), delta, theta);
        }
    }
}
