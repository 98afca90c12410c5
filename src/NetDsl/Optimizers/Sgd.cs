using NetDsl.Kernels;

namespace NetDsl.Optimizers;

/// <summary>Plain gradient descent, θ ← θ − α·dθ. Batch, mini-batch and stochastic descent are this optimizer fed
/// with the whole set, mini-batches or single samples.</summary>
public sealed class Sgd(double learningRate) : OptimizerBase(learningRate)
{
    /// <inheritdoc />
    public override int StateCopies => 0;

    /// <inheritdoc />
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second) =>
        UpdateLoop.Run(parameters, gradients, [], [], new Rule((float)LearningRate));

    readonly record struct Rule(float Alpha) : IUpdateRule
    {
        public TV Update<TV, TS>(TV theta, TV gradient, ref TV first, ref TV second) where TV : struct where TS : ISimd<float, TV> =>
            TS.MultiplyAdd(TS.Broadcast(-Alpha), gradient, theta);
    }
}

/// <summary>Momentum: v ← βv + (1 − β)g (the exponentially weighted average) or, with <c>dampening: false</c>,
/// v ← βv + g (PyTorch's form); θ ← θ − α·v.</summary>
public sealed class Momentum : OptimizerBase
{
    /// <summary>Creates the optimizer.</summary>
    public Momentum(double learningRate, double beta = 0.9, bool dampening = true) : base(learningRate)
    {
        Beta = Decay(beta, nameof(beta));
        Dampening = dampening;
    }

    /// <summary>The velocity's decay.</summary>
    public double Beta { get; }

    /// <summary>Whether the gradient enters with the factor (1 − β).</summary>
    public bool Dampening { get; }

    /// <inheritdoc />
    public override int StateCopies => 1;

    /// <inheritdoc />
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second) =>
        UpdateLoop.Run(parameters, gradients, first, [], new Rule((float)LearningRate, (float)Beta, Dampening ? (float)(1 - Beta) : 1f, 0f));

    /// <summary>v ← βv + c·g; θ ← θ − α·v for momentum (look-ahead 0), θ ← θ − α(g + βv) for Nesterov (look-ahead β).</summary>
    internal readonly record struct Rule(float Alpha, float Beta, float GradientScale, float LookAhead) : IUpdateRule
    {
        public TV Update<TV, TS>(TV theta, TV gradient, ref TV velocity, ref TV second) where TV : struct where TS : ISimd<float, TV>
        {
            velocity = TS.MultiplyAdd(TS.Broadcast(Beta), velocity, TS.Multiply(TS.Broadcast(GradientScale), gradient));
            // Nesterov steps along g + βv (the gradient at the look-ahead point, as PyTorch writes it); momentum along v.
            TV direction = LookAhead == 0 ? velocity : TS.MultiplyAdd(TS.Broadcast(LookAhead), velocity, gradient);
            return TS.MultiplyAdd(TS.Broadcast(-Alpha), direction, theta);
        }
    }
}

/// <summary>Nesterov momentum (PyTorch's form): v ← βv + g; θ ← θ − α(g + βv).</summary>
public sealed class Nesterov : OptimizerBase
{
    /// <summary>Creates the optimizer.</summary>
    public Nesterov(double learningRate, double beta = 0.9) : base(learningRate) => Beta = Decay(beta, nameof(beta));

    /// <summary>The velocity's decay.</summary>
    public double Beta { get; }

    /// <inheritdoc />
    public override int StateCopies => 1;

    /// <inheritdoc />
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second) =>
        UpdateLoop.Run(parameters, gradients, first, [], new Momentum.Rule((float)LearningRate, (float)Beta, 1f, (float)Beta));
}
