namespace NetDsl;

/// <summary>The loss a network is trained on. The network's last layer produces what the loss expects.</summary>
public enum Loss
{
    /// <summary>Softmax over the last layer's outputs (logits) and cross-entropy against one-hot or soft targets.
    /// The softmax is part of the loss: do not end the network with <see cref="SoftmaxAttribute"/>.</summary>
    SoftmaxCrossEntropy = 0,

    /// <summary>Mean over every output element of (ŷ − y)².</summary>
    MeanSquaredError = 1,
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
}

/// <summary>Marks a <c>partial</c> class as a network. Each <c>partial Layer Name { get; }</c> property with a layer
/// attribute is one layer, in declaration order.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NetworkAttribute : Attribute
{
    /// <summary>The training loss.</summary>
    public Loss Loss { get; set; } = Loss.SoftmaxCrossEntropy;
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
}

/// <summary>Rectified linear unit: max(0, z).</summary>
public sealed class ReLUAttribute : LayerAttribute;

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
