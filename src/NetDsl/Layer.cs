using System.Globalization;
using System.Text;

namespace NetDsl;

/// <summary>One declared layer: its name (the property's), kind, output shape per sample and parameter count.</summary>
public sealed class Layer(string name, string kind, int[] outputShape, int parameterCount)
{
    /// <summary>The property name that declared the layer.</summary>
    public string Name { get; } = name;

    /// <summary>The layer kind as declared: Input, Dense, ReLU, Dropout, ...</summary>
    public string Kind { get; } = kind;

    /// <summary>The shape of one sample's output.</summary>
    public IReadOnlyList<int> OutputShape { get; } = outputShape;

    /// <summary>Number of trainable parameters the layer owns.</summary>
    public int ParameterCount { get; } = parameterCount;

    /// <summary>The output shape written as <c>(1, 28, 28)</c>.</summary>
    public string ShapeText => Shapes.Format(OutputShape);

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Kind}) {ShapeText} {ParameterCount} parameters";

    /// <summary>A Keras-style summary table.</summary>
    public static string FormatTable(string networkName, IReadOnlyList<Layer> layers, int totalParameters)
    {
        var rows = layers.Select(l => (Name: $"{l.Name} ({l.Kind})", Shape: l.ShapeText,
            Parameters: l.ParameterCount.ToString("N0", CultureInfo.InvariantCulture))).ToList();
        int nameWidth = Math.Max("Layer (kind)".Length, rows.Max(r => r.Name.Length));
        int shapeWidth = Math.Max("Output shape".Length, rows.Max(r => r.Shape.Length));
        int parameterWidth = Math.Max("Parameters".Length, rows.Max(r => r.Parameters.Length));
        var rule = new string('-', nameWidth + shapeWidth + parameterWidth + 4);
        var text = new StringBuilder();
        text.AppendLine(networkName);
        text.AppendLine(rule);
        text.AppendLine($"{"Layer (kind)".PadRight(nameWidth)}  {"Output shape".PadRight(shapeWidth)}  {"Parameters".PadLeft(parameterWidth)}");
        text.AppendLine(rule);
        foreach (var row in rows)
            text.AppendLine($"{row.Name.PadRight(nameWidth)}  {row.Shape.PadRight(shapeWidth)}  {row.Parameters.PadLeft(parameterWidth)}");
        text.AppendLine(rule);
        text.Append("Total parameters: ").AppendLine(totalParameters.ToString("N0", CultureInfo.InvariantCulture));
        return text.ToString();
    }
}

/// <summary>One named tensor inside the flat parameter vector θ: <c>θ[Offset .. Offset + Length)</c>.</summary>
/// <param name="Name">PyTorch-style name, <c>Layer.weight</c> or <c>Layer.bias</c>.</param>
/// <param name="Layer">The declaring layer.</param>
/// <param name="Offset">Start inside θ.</param>
/// <param name="Shape">Row-major shape; a Dense weight is [units, inputs].</param>
/// <param name="WeightDecay">Whether L1/L2 regularization applies (weights yes, biases no).</param>
public sealed record ParameterTensor(string Name, string Layer, int Offset, int[] Shape, bool WeightDecay)
{
    /// <summary>Number of elements.</summary>
    public int Length => Shapes.Count(Shape);
}

/// <summary>Memory needed to train a network at a batch size, in bytes of <c>float</c>.</summary>
/// <param name="ParameterCount">Values in θ.</param>
/// <param name="ActivationValuesPerSample">Values cached per sample by a training forward pass and its backward.</param>
/// <param name="BatchSize">The batch size this plan is for.</param>
/// <param name="OptimizerStateCopies">Copies of θ kept by the optimizer (0 SGD, 1 Momentum, 2 Adam).</param>
public sealed record MemoryPlan(int ParameterCount, int ActivationValuesPerSample, int BatchSize, int OptimizerStateCopies = 2)
{
    /// <summary>Bytes of θ.</summary>
    public long ParameterBytes => (long)ParameterCount * sizeof(float);

    /// <summary>Bytes of dθ.</summary>
    public long GradientBytes => ParameterBytes;

    /// <summary>Bytes of optimizer state.</summary>
    public long OptimizerStateBytes => ParameterBytes * OptimizerStateCopies;

    /// <summary>Bytes of cached activations, masks and activation gradients for the batch.</summary>
    public long ActivationBytes => (long)ActivationValuesPerSample * BatchSize * sizeof(float);

    /// <summary>Everything together.</summary>
    public long TotalBytes => ParameterBytes + GradientBytes + OptimizerStateBytes + ActivationBytes;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"batch {BatchSize}: parameters {Shapes.Bytes(ParameterBytes)}, gradients {Shapes.Bytes(GradientBytes)}, " +
        $"optimizer state {Shapes.Bytes(OptimizerStateBytes)}, activations {Shapes.Bytes(ActivationBytes)}, total {Shapes.Bytes(TotalBytes)}");
}

/// <summary>The arithmetic of a network's predictions (<see cref="INeuralNetwork.PredictBatch"/>); training always runs in
/// float.</summary>
public enum InferencePrecision
{
    /// <summary>Everything in 32-bit floats.</summary>
    Float32 = 0,
    /// <summary>Every Dense layer multiplies 8-bit weights (one scale per unit, quantized from θ whenever θ has changed)
    /// by 5-bit inputs (one scale and zero point per sample, quantized at each call), as PyTorch's dynamic quantization
    /// does; everything else (bias, activations, convolutions, pooling, BatchNorm) stays float. A quarter of the weight
    /// bytes and four times the products per instruction; each product term is off by at most |w̃|·s/2 + |x|·scale/2
    /// (s, scale: the input's and the weight's step). The sample MLP's Fashion-MNIST test accuracy: 0.8878 against
    /// 0.8883 in float. A network without Dense layers predicts as in <see cref="Float32"/>.</summary>
    Int8 = 1,
}

/// <summary>How a forward pass treats dropout.</summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public enum PassMode
{
    /// <summary>Prediction: dropout is the identity, nothing is kept for a backward pass.</summary>
    Inference,
    /// <summary>Training: dropout masks are drawn and applied.</summary>
    Training,
    /// <summary>Training with every dropout off (keep probability 1), as gradient checking requires.</summary>
    TrainingWithoutDropout,
}

/// <summary>Thrown by the members of a network whose declaration has errors; the message names the diagnostic.</summary>
public sealed class InvalidNetworkException(string message) : InvalidOperationException(message);
