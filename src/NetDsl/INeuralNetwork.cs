using NetDsl.Optimizers;

namespace NetDsl;

/// <summary>What every generated network offers, so that training, metrics and diagnostics work with any of them.
/// A network instance is not thread-safe: it owns the buffers its passes write. Separate instances may run on separate
/// threads at once: the kernels keep their scratch per thread, and the second core takes one product at a time.</summary>
public interface INeuralNetwork
{
    /// <summary>The declaring class's name.</summary>
    string Name { get; }

    /// <summary>Values per input sample.</summary>
    int InputSize { get; }

    /// <summary>Values per output sample.</summary>
    int OutputSize { get; }

    /// <summary>Length of θ.</summary>
    int ParameterCount { get; }

    /// <summary>The training loss.</summary>
    Loss Loss { get; }

    /// <summary>The declared layers, in order.</summary>
    IReadOnlyList<Layer> Layers { get; }

    /// <summary>The named tensors inside θ.</summary>
    IReadOnlyList<ParameterTensor> ParameterTensors { get; }

    /// <summary>θ: every trainable value, one contiguous vector.</summary>
    Span<float> Parameters { get; }

    /// <summary>State that is not trained by gradients but saved with θ: BatchNorm running means and variances (empty
    /// without BatchNorm).</summary>
    Span<float> RunningStatistics { get; }

    /// <summary>The named tensors inside <see cref="RunningStatistics"/> (<c>Layer.running_mean</c>, <c>Layer.running_var</c>).</summary>
    IReadOnlyList<ParameterTensor> StatisticsTensors { get; }

    /// <summary>dθ from the last <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{float})"/>, same layout as θ.</summary>
    Span<float> Gradients { get; }

    /// <summary>When false, training passes run every dropout with keep probability 1.</summary>
    bool DropoutEnabled { get; set; }

    /// <summary>The index of the first sample of the training batches that follow, within the batch they belong to:
    /// dropout masks are drawn per (step, sample index), so a data-parallel rank that trains rows [o, o + n) of a global
    /// batch sets o and draws the masks those rows get when one process trains the whole batch. 0 by default.</summary>
    long DropoutSampleOffset { get; set; }

    /// <summary>Freezes a layer with parameters (transfer learning): its tensors get no optimizer update and no weight
    /// decay, their gradients read zero, the backward pass stops below the lowest layer that still trains, and a frozen
    /// BatchNorm normalizes with its running statistics and keeps them (PyTorch's <c>eval()</c> of the module).</summary>
    /// <exception cref="ArgumentException">No such layer, or a layer without parameters.</exception>
    void Freeze(string layer);

    /// <summary>Lets a frozen layer train again.</summary>
    void Unfreeze(string layer);

    /// <summary>The frozen layers, in declaration order: those declared <c>Trainable = false</c> and those frozen since.</summary>
    IReadOnlyList<string> FrozenLayers { get; }

    /// <summary>The optimizer's update of θ from <see cref="Gradients"/>, frozen layers left as they are (what
    /// <see cref="TrainStep"/> does after its passes).</summary>
    void ApplyGradients(IOptimizer optimizer);

    /// <summary>The rate of each dropout layer, in declaration order; starts at the declared rates and may be changed
    /// (hyperparameter search tunes it). A rate outside [0, 1) fails at the next training step.</summary>
    Span<double> DropoutRates { get; }

    /// <summary>The dropout layers' names, matching <see cref="DropoutRates"/>.</summary>
    IReadOnlyList<string> DropoutLayers { get; }

    /// <summary>L1/L2 penalty on the weights, included in the training loss and its gradients (float and double).</summary>
    Training.Regularization Regularization { get; set; }

    /// <summary>The arithmetic of <see cref="PredictBatch"/>: float (the default) or int8 Dense layers.</summary>
    InferencePrecision InferencePrecision { get; set; }

    /// <summary>Predicts a batch: <paramref name="inputs"/> holds whole samples, <paramref name="outputs"/> one output each.</summary>
    void PredictBatch(ReadOnlySpan<float> inputs, Span<float> outputs);

    /// <summary>Training forward pass, loss and backward pass; fills <see cref="Gradients"/> and returns the mean loss.</summary>
    float ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets);

    /// <summary><see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{float})"/> followed by one optimizer update.</summary>
    float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, IOptimizer optimizer);

    /// <summary>The mean loss of an inference pass (dropout off).</summary>
    float EvaluateLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets);

    /// <summary>Double-precision loss at the given θ, training mode with dropout off (for gradient checking).</summary>
    double ComputeLoss(ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, ReadOnlySpan<double> targets);

    /// <summary>Double-precision loss and dθ at the given θ, training mode with dropout off (for gradient checking).</summary>
    double ComputeGradients(ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, ReadOnlySpan<double> targets, Span<double> gradients);

    /// <summary>The output of activation layer <paramref name="layer"/> (before any dropout) from the last float pass,
    /// one row per sample; empty for a layer that is not an activation.</summary>
    ReadOnlySpan<float> ActivationOutput(string layer);

    /// <summary>The first layer, in forward order, whose cached float activations from the last pass hold NaN or ±∞;
    /// null when all are finite.</summary>
    string? FindFirstNonFiniteLayer();

    /// <summary>Writes the network as an ONNX model (opset 17) that ONNX Runtime, PyTorch and other runtimes load: input
    /// "input" [N, …] as <see cref="PredictBatch"/> takes it, output "logits" (or "probabilities" after a final softmax).
    /// With <paramref name="preprocessing"/> the model carries the fitted scaler and takes the raw features.</summary>
    void ExportOnnx(string path, Data.IFeatureScaling? preprocessing = null, string? docString = null);
}
