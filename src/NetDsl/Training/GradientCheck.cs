namespace NetDsl.Training;

/// <summary>The verdict of the relative difference ‖dθ_approx − dθ‖ / (‖dθ_approx‖ + ‖dθ‖).</summary>
public enum GradientVerdict
{
    /// <summary>Below 1e-7: the backward pass is right.</summary>
    Good,
    /// <summary>Between 1e-7 and 1e-3 (about 1e-5 is typical of a kink or a float-precision path): look closer.</summary>
    Check,
    /// <summary>Above 1e-3: almost certainly a bug in the backward pass.</summary>
    Bug,
}

/// <summary>The check of one parameter tensor (or of all of θ).</summary>
public sealed record GradientCheckResult(string Name, int Checked, double RelativeDifference, int WorstIndex, double WorstAnalytic, double WorstNumeric)
{
    /// <summary>Good, Check or Bug by the thresholds 1e-7 and 1e-3.</summary>
    public GradientVerdict Verdict => GradientCheck.Classify(RelativeDifference);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}: {RelativeDifference:E2} ({Verdict}) over {Checked} values; worst at {WorstIndex}: analytic {WorstAnalytic:E6}, numeric {WorstNumeric:E6}";
}

/// <summary>The whole report: θ overall and each tensor.</summary>
public sealed record GradientCheckReport(GradientCheckResult Overall, IReadOnlyList<GradientCheckResult> Tensors)
{
    /// <inheritdoc />
    public override string ToString() => string.Join(Environment.NewLine, Tensors.Prepend(Overall));
}

/// <summary>Gradient checking in double precision: each checked θᵢ is moved by ±ε and the centered difference
/// (J(θ + εeᵢ) − J(θ − εeᵢ)) / 2ε is compared with the backward pass's dθᵢ. Dropout is off throughout.</summary>
public static class GradientCheck
{
    /// <summary>Below this the gradients agree.</summary>
    public const double GoodBelow = 1e-7;

    /// <summary>Above this the backward pass has a bug.</summary>
    public const double BugAbove = 1e-3;

    /// <summary>Classifies a relative difference.</summary>
    public static GradientVerdict Classify(double relativeDifference) =>
        relativeDifference < GoodBelow ? GradientVerdict.Good : relativeDifference <= BugAbove ? GradientVerdict.Check : GradientVerdict.Bug;

    /// <summary>Checks <paramref name="network"/> at its current θ on a batch. When θ has more than
    /// <paramref name="maxChecked"/> values, a seeded sample of that many is checked (spread over every tensor). Frozen
    /// layers take no gradient and are not checked; their forward passes (a frozen BatchNorm's running statistics) are.</summary>
    public static GradientCheckReport Run(INeuralNetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets,
        double epsilon = 1e-7, int maxChecked = 4096, int seed = 0)
    {
        if (!(epsilon > 0) || double.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be a finite number > 0.");
        var theta = ToDouble(network.Parameters);
        var x = ToDouble(inputs);
        var y = ToDouble(targets);
        var analytic = new double[theta.Length];
        network.ComputeGradients(theta, x, y, analytic);

        var results = new List<GradientCheckResult>();
        var all = new List<(int Index, double Numeric)>();
        var random = new Rng((ulong)seed);
        // A frozen layer's tensors take no gradient (it reads zero), so there is nothing of theirs to check.
        var frozen = network.FrozenLayers;
        foreach (var tensor in network.ParameterTensors)
        {
            if (frozen.Contains(tensor.Layer)) continue;
            // A sampled check still covers each tensor with at least a few values (a bias is small but can be wrong alone).
            int budget = theta.Length <= maxChecked
                ? tensor.Length
                : Math.Min(tensor.Length, Math.Max(16, (int)Math.Round((double)maxChecked * tensor.Length / theta.Length)));
            var indices = budget >= tensor.Length
                ? Enumerable.Range(tensor.Offset, tensor.Length)
                : Enumerable.Range(0, budget).Select(_ => tensor.Offset + random.NextInt(tensor.Length)).Distinct();
            var checkedHere = new List<(int Index, double Numeric)>();
            foreach (int i in indices)
            {
                double original = theta[i];
                theta[i] = original + epsilon;
                double plus = network.ComputeLoss(theta, x, y);
                theta[i] = original - epsilon;
                double minus = network.ComputeLoss(theta, x, y);
                theta[i] = original;
                checkedHere.Add((i, (plus - minus) / (2 * epsilon)));
            }
            results.Add(Compare(tensor.Name, checkedHere, analytic));
            all.AddRange(checkedHere);
        }
        return new GradientCheckReport(Compare("θ", all, analytic), results);
    }

    static GradientCheckResult Compare(string name, List<(int Index, double Numeric)> numeric, double[] analytic)
    {
        double difference = 0, numericNorm = 0, analyticNorm = 0, worst = -1;
        int worstIndex = -1;
        foreach (var (i, approx) in numeric)
        {
            double d = approx - analytic[i];
            difference += d * d;
            numericNorm += approx * approx;
            analyticNorm += analytic[i] * analytic[i];
            if (Math.Abs(d) > worst) (worst, worstIndex) = (Math.Abs(d), i);
        }
        double denominator = Math.Sqrt(numericNorm) + Math.Sqrt(analyticNorm);
        double relative = denominator == 0 ? 0 : Math.Sqrt(difference) / denominator;
        double worstNumeric = numeric.FirstOrDefault(n => n.Index == worstIndex).Numeric;
        return new GradientCheckResult(name, numeric.Count, relative, worstIndex,
            worstIndex >= 0 ? analytic[worstIndex] : 0, worstNumeric);
    }

    static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i];
        return result;
    }
}
