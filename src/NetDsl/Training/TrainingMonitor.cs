using System.Globalization;

namespace NetDsl.Training;

/// <summary>Thresholds of the training monitor; the defaults follow the published monitors: AUTOTRAINER (ICSE 2021)
/// for vanishing and exploding gradients, DeepDiagnosis (ICSE 2022) for dead and saturated units.</summary>
public sealed record MonitorThresholds
{
    /// <summary>Vanishing when ‖g_first‖/‖g_last‖ is below this …</summary>
    public double VanishingRatio { get; init; } = 1e-3;

    /// <summary>… and ‖g_first‖ is below this.</summary>
    public double VanishingNorm { get; init; } = 1e-4;

    /// <summary>Exploding when ‖g_first‖/‖g_last‖ is above this.</summary>
    public double ExplodingRatio { get; init; } = 70;

    /// <summary>Dead when at least this fraction of a ReLU-family layer's outputs are ≤ 0.</summary>
    public double DeadFraction { get; init; } = 0.7;

    /// <summary>Saturated when more than this fraction of a Sigmoid/Tanh layer's pre-activations lie beyond ±<see cref="SaturationInput"/>.</summary>
    public double SaturatedFraction { get; init; } = 0.5;

    /// <summary>The pre-activation magnitude that counts as saturated.</summary>
    public double SaturationInput { get; init; } = 5;

    /// <summary>Exploding loss when an epoch's running loss exceeds this multiple of the first step's loss (fastai's
    /// learning-rate finder stops at 4× the best loss; a loss that grows past its starting value is diverging).</summary>
    public double ExplodingLossFactor { get; init; } = 4;
}

/// <summary>One layer's figures at the end of an epoch.</summary>
/// <param name="Layer">The layer's declared name.</param>
/// <param name="GradientNorm">‖dθ‖ of the layer's tensors at the epoch's last step.</param>
/// <param name="UpdateRatio">‖θ_end − θ_start‖ / ‖θ_start‖ over the epoch.</param>
/// <param name="InactiveFraction">ReLU family: share of outputs ≤ 0; Sigmoid/Tanh: share saturated; else null.</param>
public sealed record LayerReport(string Layer, double? GradientNorm, double? UpdateRatio, double? InactiveFraction);

/// <summary>An epoch's layer figures and the warnings they raised.</summary>
public sealed record MonitorReport(int Epoch, IReadOnlyList<LayerReport> Layers, IReadOnlyList<string> Warnings);

/// <summary>Watches training per epoch: gradient norms and update/weight ratios per layer, dead and saturated units,
/// vanishing and exploding gradients, a loss that grows past its start, and dev loss rising while train loss falls. Give it to
/// <see cref="TrainingOptions.Monitor"/>.</summary>
public sealed class TrainingMonitor(MonitorThresholds? thresholds = null)
{
    readonly MonitorThresholds limits = thresholds ?? new MonitorThresholds();
    readonly List<MonitorReport> reports = [];
    float[] start = [];

    /// <summary>Every epoch's report so far.</summary>
    public IReadOnlyList<MonitorReport> Reports => reports;

    /// <summary>The loss of the first training step seen: what the network started from.</summary>
    double? firstLoss;

    internal void BeginEpoch(INeuralNetwork network) => start = network.Parameters.ToArray();

    internal void ObserveStep(float loss) => firstLoss ??= loss;

    internal MonitorReport EndEpoch(INeuralNetwork network, EpochResult result, EpochResult? previous)
    {
        var parameters = network.Parameters;
        var gradients = network.Gradients;
        var layers = new List<LayerReport>();
        var warnings = new List<string>();
        foreach (var layer in network.Layers)
        {
            var tensors = network.ParameterTensors.Where(t => t.Layer == layer.Name).ToList();
            double? gradientNorm = null, updateRatio = null, inactive = null;
            if (tensors.Count > 0)
            {
                double g = 0, change = 0, size = 0;
                foreach (var t in tensors)
                    for (int i = t.Offset; i < t.Offset + t.Length; i++)
                    {
                        g += (double)gradients[i] * gradients[i];
                        change += Math.Pow(parameters[i] - start[i], 2);
                        size += (double)start[i] * start[i];
                    }
                gradientNorm = Math.Sqrt(g);
                updateRatio = size == 0 ? null : Math.Sqrt(change / size);
            }
            var outputs = network.ActivationOutput(layer.Name);
            if (!outputs.IsEmpty)
            {
                if (layer.Kind is "ReLU" or "LeakyReLU" or "PReLU" or "ELU" or "SELU")
                {
                    inactive = Fraction(outputs, v => v <= 0);
                    if (layer.Kind == "ReLU" && inactive >= limits.DeadFraction)
                        warnings.Add(Text($"dead units: {inactive * 100:F0}% of '{layer.Name}' outputs are ≤ 0 (threshold {limits.DeadFraction * 100:F0}%); lower the learning rate or use LeakyReLU/He initialization"));
                }
                else if (layer.Kind is "Sigmoid" or "Tanh")
                {
                    // |z| > s ⇔ the output is beyond σ(±s) or tanh(±s): saturation is read off the outputs.
                    double s = limits.SaturationInput;
                    inactive = layer.Kind == "Tanh"
                        ? Fraction(outputs, v => Math.Abs(v) > Math.Tanh(s))
                        : Fraction(outputs, v => v > 1 / (1 + Math.Exp(-s)) || v < 1 / (1 + Math.Exp(s)));
                    if (inactive > limits.SaturatedFraction)
                        warnings.Add(Text($"saturated units: {inactive * 100:F0}% of '{layer.Name}' pre-activations lie beyond ±{s} (threshold {limits.SaturatedFraction * 100:F0}%); normalize inputs, use BatchNorm or Xavier initialization"));
                }
            }
            layers.Add(new LayerReport(layer.Name, gradientNorm, updateRatio, inactive));
        }

        var norms = layers.Where(l => l.GradientNorm is not null).Select(l => l.GradientNorm!.Value).ToList();
        if (norms.Count >= 2)
        {
            double first = norms[0], last = norms[^1], ratio = last == 0 ? double.PositiveInfinity : first / last;
            if (ratio < limits.VanishingRatio && first < limits.VanishingNorm)
                warnings.Add(Text($"vanishing gradients: ‖g_first‖/‖g_last‖ = {ratio:E1} with ‖g_first‖ = {first:E1}; use ReLU, BatchNorm, skip connections or He initialization"));
            if (ratio > limits.ExplodingRatio)
                warnings.Add(Text($"exploding gradients: ‖g_first‖/‖g_last‖ = {ratio:F0} > {limits.ExplodingRatio}; lower the learning rate, clip gradients or normalize"));
        }
        if (firstLoss is { } initial && initial > 0 && result.RunningLoss > limits.ExplodingLossFactor * initial)
            warnings.Add(Text($"exploding loss: the running loss {result.RunningLoss:G3} is {result.RunningLoss / initial:G3}× the first step's {initial:G3} (threshold {limits.ExplodingLossFactor}×); lower the learning rate"));
        if (previous is { DevLoss: { } previousDev } && result.DevLoss is { } dev && dev > previousDev && result.TrainLoss < previous.TrainLoss)
            warnings.Add(Text($"overfitting: dev loss rose {previousDev:F4} → {dev:F4} while train loss fell {previous.TrainLoss:F4} → {result.TrainLoss:F4}; regularize, augment or stop early"));
        var report = new MonitorReport(result.Epoch, layers, warnings);
        reports.Add(report);
        return report;
    }

    static double Fraction(ReadOnlySpan<float> values, Func<float, bool> predicate)
    {
        int count = 0;
        foreach (var v in values) if (predicate(v)) count++;
        return (double)count / values.Length;
    }

    static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
