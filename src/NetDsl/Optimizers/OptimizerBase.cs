namespace NetDsl.Optimizers;

/// <summary>What every optimizer shares: the validated learning rate, the step count and up to two state vectors laid
/// out like θ, allocated on the first step (and again only if θ's length changes).</summary>
public abstract class OptimizerBase : IOptimizer
{
    double learningRate;
    float[] first = [], second = [];

    /// <summary>Validates and stores the learning rate.</summary>
    protected OptimizerBase(double learningRate) => this.learningRate = OptimizerChecks.LearningRate(learningRate);

    /// <inheritdoc />
    public double LearningRate { get => learningRate; set => learningRate = OptimizerChecks.LearningRate(value); }

    /// <inheritdoc />
    public long Steps { get; private set; }

    /// <summary>State vectors per parameter this optimizer keeps (0, 1 or 2).</summary>
    public abstract int StateCopies { get; }

    /// <summary>The first state vector (velocity, first moment or accumulator), same layout as θ.</summary>
    public ReadOnlySpan<float> FirstState => first;

    /// <summary>The second state vector (second moment or update accumulator), same layout as θ.</summary>
    public ReadOnlySpan<float> SecondState => second;

    /// <inheritdoc />
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        Prepare(parameters.Length, gradients.Length);
        Update(parameters, gradients, first, second);
    }

    /// <summary>One update of the given ranges of θ only (the tensors that train); the others, and their state, stay.</summary>
    internal void StepRanges(Span<float> parameters, ReadOnlySpan<float> gradients, IReadOnlyList<(int Offset, int Length)> ranges)
    {
        Prepare(parameters.Length, gradients.Length);
        foreach (var (offset, length) in ranges)
            Update(parameters.Slice(offset, length), gradients.Slice(offset, length),
                first.Length == 0 ? [] : first.AsSpan(offset, length), second.Length == 0 ? [] : second.AsSpan(offset, length));
    }

    /// <summary>Checks the lengths, allocates the state on the first step (and when θ's length changes), counts the step.</summary>
    void Prepare(int parameters, int gradients)
    {
        OptimizerChecks.SameLength(parameters, gradients);
        if (StateCopies > 0 && first.Length != parameters)
        {
            first = new float[parameters];
            second = StateCopies > 1 ? new float[parameters] : [];
            Steps = 0;
        }
        Steps++;
    }

    /// <summary>One update at step <see cref="Steps"/> (already counted).</summary>
    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> first, Span<float> second);

    /// <summary>Puts back state vectors and the step count saved by a checkpoint.</summary>
    internal void Restore(IReadOnlyList<float[]> states, long steps)
    {
        first = states.Count > 0 ? (float[])states[0].Clone() : [];
        second = states.Count > 1 ? (float[])states[1].Clone() : [];
        Steps = steps;
    }

    /// <inheritdoc />
    public void Reset()
    {
        Array.Clear(first);
        Array.Clear(second);
        Steps = 0;
    }

    /// <summary>A β or ρ in [0, 1).</summary>
    protected static double Decay(double value, string name) =>
        value is >= 0 and < 1 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [0, 1).");

    /// <summary>An ε &gt; 0.</summary>
    protected static double Epsilon(double value, string name = "epsilon") =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, "ε must be > 0.");
}
