namespace NetDsl.Training;

/// <summary>Which problem the error gaps point to.</summary>
public enum FitProblem
{
    /// <summary>Train error near the Bayes estimate and dev error near train error.</summary>
    None,
    /// <summary>Train error well above the Bayes estimate (underfitting).</summary>
    HighBias,
    /// <summary>Dev error well above train error (overfitting).</summary>
    HighVariance,
    /// <summary>Both gaps are large.</summary>
    HighBiasAndVariance,
}

/// <summary>The diagnosis with the two gaps and the recipe's advice.</summary>
public sealed record BiasVarianceDiagnosis(FitProblem Problem, double AvoidableBias, double Variance, string Advice)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Problem}: avoidable bias {AvoidableBias * 100:F1}% (train − Bayes), variance {Variance * 100:F1}% (dev − train). {Advice}";
}

/// <summary>Bias/variance diagnosis from error rates (1 − accuracy): avoidable bias = train − Bayes, variance =
/// dev − train, each judged against a tolerance.</summary>
public static class BiasVariance
{
    /// <summary>Diagnoses; <paramref name="bayesError"/> is the best achievable error (human-level as a proxy, 0 when
    /// unknown) and <paramref name="tolerance"/> the gap that counts as large.</summary>
    public static BiasVarianceDiagnosis Diagnose(double trainError, double devError, double bayesError = 0, double tolerance = 0.02)
    {
        foreach (var (name, value) in new[] { ("train error", trainError), ("dev error", devError), ("Bayes error", bayesError) })
            if (value is < 0 or > 1 || double.IsNaN(value))
                throw new ArgumentOutOfRangeException(name, value, $"The {name} must be a rate in [0, 1].");
        double bias = trainError - bayesError, variance = devError - trainError;
        bool highBias = bias > tolerance, highVariance = variance > tolerance;
        var problem = (highBias, highVariance) switch
        {
            (true, true) => FitProblem.HighBiasAndVariance,
            (true, false) => FitProblem.HighBias,
            (false, true) => FitProblem.HighVariance,
            _ => FitProblem.None,
        };
        string advice = problem switch
        {
            FitProblem.HighBias => "Reduce bias first: a bigger network, longer training, a better optimizer or architecture.",
            FitProblem.HighVariance => "Reduce variance: more data, regularization (L2, dropout, augmentation), or early stopping.",
            FitProblem.HighBiasAndVariance => "Reduce bias first (bigger network, longer training), then variance (more data, regularization).",
            _ => "Both gaps are small: look at the dev/test mismatch or raise the bar.",
        };
        return new BiasVarianceDiagnosis(problem, bias, variance, advice);
    }
}
