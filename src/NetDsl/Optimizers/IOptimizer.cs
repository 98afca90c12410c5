namespace NetDsl.Optimizers;

/// <summary>Updates θ in place from dθ. State (moments) mirrors θ's layout and is allocated on the first step.</summary>
public interface IOptimizer
{
    /// <summary>The step size α; schedules and callbacks may change it between steps.</summary>
    double LearningRate { get; set; }

    /// <summary>Number of updates made so far.</summary>
    long Steps { get; }

    /// <summary>One update of <paramref name="parameters"/> from <paramref name="gradients"/> (same length).</summary>
    void Step(Span<float> parameters, ReadOnlySpan<float> gradients);

    /// <summary>Forgets all state, as if no step had been taken.</summary>
    void Reset();
}

internal static class OptimizerChecks
{
    public static double LearningRate(double value) =>
        value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException("learningRate", value, "The learning rate must be a finite number > 0.");

    public static void SameLength(int parameters, int gradients)
    {
        if (parameters != gradients)
            throw new ArgumentException($"θ holds {parameters} values but dθ holds {gradients}; they must have the same layout.", "gradients");
    }
}
