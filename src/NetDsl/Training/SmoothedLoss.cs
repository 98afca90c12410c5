namespace NetDsl.Training;

/// <summary>The exponentially weighted moving average of the step losses, with bias correction: v_t = β·v_{t−1} +
/// (1 − β)·ℓ_t from v_0 = 0, reported as v_t / (1 − β^t), so the first steps are not pulled toward the zero it started
/// from. β = 0.98 averages over about the last 1 / (1 − β) = 50 steps (fastai's choice for its training loss).</summary>
public struct SmoothedLoss(double beta = SmoothedLoss.DefaultBeta)
{
    /// <summary>The β the trainer smooths with.</summary>
    public const double DefaultBeta = 0.98;

    double average, decay = 1;

    /// <summary>Adds a step's loss and returns the corrected average.</summary>
    public double Add(double loss)
    {
        average = beta * average + (1 - beta) * loss;
        decay *= beta;
        return Value;
    }

    /// <summary>The corrected average so far; NaN before the first step.</summary>
    public readonly double Value => decay == 1 ? double.NaN : average / (1 - decay);
}
