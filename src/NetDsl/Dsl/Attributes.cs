namespace NetDsl;

/// <summary>The loss a network is trained on. The network's last layer produces what the loss expects.</summary>
public enum Loss
{
    /// <summary>Softmax over the last layer's outputs (logits) and cross-entropy against one-hot or soft targets.
    /// The softmax is part of the loss: do not end the network with <see cref="SoftmaxAttribute"/>.</summary>
    SoftmaxCrossEntropy = 0,

    /// <summary>Mean over every output element of (ŷ − y)².</summary>
    MeanSquaredError = 1,

    /// <summary>Binary cross-entropy on a <see cref="SigmoidAttribute"/> output, one independent probability per output;
    /// fused with the sigmoid so the gradient is (ŷ − y) / n.</summary>
    BinaryCrossEntropy = 2,
}

/// <summary>How a Dense layer's weights are drawn. Biases always start at zero.</summary>
public enum Init
{
    /// <summary>He (normal) before a ReLU-family activation, Xavier/Glorot (normal) otherwise.</summary>
    Auto = 0,
    /// <summary>He/Kaiming normal: N(0, 2 / fanIn). Suits ReLU.</summary>
    He = 1,
    /// <summary>Xavier/Glorot normal: N(0, 2 / (fanIn + fanOut)). Suits Tanh and Sigmoid.</summary>
    Xavier = 2,
    /// <summary>LeCun normal: N(0, 1 / fanIn). Suits SELU and Tanh.</summary>
    LeCun = 3,
    /// <summary>All zeros: every unit computes the same thing and stays that way. Useful only in tests.</summary>
    Zeros = 4,
    /// <summary>He/Kaiming uniform: U(±√(6 / fanIn)).</summary>
    HeUniform = 5,
    /// <summary>Xavier/Glorot uniform: U(±√(6 / (fanIn + fanOut))).</summary>
    XavierUniform = 6,
    /// <summary>LeCun uniform: U(±√(3 / fanIn)).</summary>
    LeCunUniform = 7,
    /// <summary>All ones (constant 1): like <see cref="Zeros"/>, every unit stays identical.</summary>
    Ones = 8,
    /// <summary>Every weight <see cref="DenseAttribute.InitValue"/>.</summary>
    Constant = 9,
    /// <summary>U(<see cref="DenseAttribute.InitLow"/>, <see cref="DenseAttribute.InitHigh"/>).</summary>
    Uniform = 10,
    /// <summary>N(<see cref="DenseAttribute.InitMean"/>, <see cref="DenseAttribute.InitStandardDeviation"/>²).</summary>
    Normal = 11,
}

/// <summary>Marks a <c>partial</c> class as a network. Each <c>partial Layer Name { get; }</c> property with a layer
/// attribute is one layer, in declaration order.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NetworkAttribute : Attribute
{
    /// <summary>The training loss.</summary>
    public Loss Loss { get; set; } = Loss.SoftmaxCrossEntropy;

    /// <summary>Label smoothing ε in [0, 1) for the cross-entropies: targets become y(1 − ε) + ε / K
    /// (K classes, or 2 for binary cross-entropy).</summary>
    public double LabelSmoothing { get; set; }
}

/// <summary>Base of the layer attributes: one per layer property.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public abstract class LayerAttribute : Attribute
{
}

/// <summary>The network's input, with its shape per sample: <c>[Input(784)]</c> or <c>[Input(1, 28, 28)]</c>.</summary>
public sealed class InputAttribute(params int[] shape) : LayerAttribute
{
    /// <summary>The dimensions of one sample.</summary>
    public int[] Shape { get; } = shape;
}

/// <summary>A fully connected layer: <c>Z = X·Wᵀ + b</c>, weights stored [units, inputs] as in PyTorch.</summary>
public sealed class DenseAttribute(int units) : LayerAttribute
{
    /// <summary>Number of output units.</summary>
    public int Units { get; } = units;

    /// <summary>How the weights are initialized.</summary>
    public Init Init { get; set; } = Init.Auto;

    /// <summary>The value of <see cref="Init.Constant"/>.</summary>
    public double InitValue { get; set; }

    /// <summary>The lower bound of <see cref="Init.Uniform"/> (Keras's default −0.05).</summary>
    public double InitLow { get; set; } = -0.05;

    /// <summary>The upper bound of <see cref="Init.Uniform"/> (Keras's default 0.05).</summary>
    public double InitHigh { get; set; } = 0.05;

    /// <summary>The mean of <see cref="Init.Normal"/>.</summary>
    public double InitMean { get; set; }

    /// <summary>The standard deviation of <see cref="Init.Normal"/> (Keras's default 0.05).</summary>
    public double InitStandardDeviation { get; set; } = 0.05;
}

/// <summary>Rectified linear unit: max(0, z).</summary>
public sealed class ReLUAttribute : LayerAttribute;

/// <summary>Leaky ReLU: z where z &gt; 0, slope·z elsewhere.</summary>
public sealed class LeakyReLUAttribute(double slope = 0.01) : LayerAttribute
{
    /// <summary>The slope for negative inputs, ≥ 0.</summary>
    public double Slope { get; } = slope;
}

/// <summary>Exponential linear unit: z where z &gt; 0, α(e^z − 1) elsewhere.</summary>
public sealed class ELUAttribute(double alpha = 1.0) : LayerAttribute
{
    /// <summary>The saturation value −α for very negative inputs, ≥ 0.</summary>
    public double Alpha { get; } = alpha;
}

/// <summary>Scaled ELU with the self-normalizing constants λ ≈ 1.0507, α ≈ 1.6733; pair it with LeCun initialization.</summary>
public sealed class SELUAttribute : LayerAttribute;

/// <summary>The identity, for a declared "no activation".</summary>
public sealed class LinearAttribute : LayerAttribute;

/// <summary>Logistic sigmoid: 1 / (1 + e^(−z)).</summary>
public sealed class SigmoidAttribute : LayerAttribute;

/// <summary>Hyperbolic tangent.</summary>
public sealed class TanhAttribute : LayerAttribute;

/// <summary>Softmax over each sample's features.</summary>
public sealed class SoftmaxAttribute : LayerAttribute;

/// <summary>Reshapes a multi-dimensional sample to one dimension (no data moves: samples are stored row-major).</summary>
public sealed class FlattenAttribute : LayerAttribute;

/// <summary>Inverted dropout: in training each value is zeroed with probability <paramref name="rate"/> and the
/// survivors are divided by 1 − rate; at inference it is the identity.</summary>
public sealed class DropoutAttribute(double rate) : LayerAttribute
{
    /// <summary>Probability of dropping a value, in [0, 1).</summary>
    public double Rate { get; } = rate;
}
