using System;

// One definition of the DSL: the generator and the analyzers compile this file too (NETDSL_GENERATOR), in a namespace
// of their own, to read the enums' values and the attributes' defaults instead of repeating them.
#if NETDSL_GENERATOR
namespace NetDsl.Generators.RuntimeSource;
#else
namespace NetDsl;
#endif

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
    /// <summary>He (normal) before a ReLU-family activation (through a BatchNorm right after the layer too), LeCun
    /// (normal) before SELU, Xavier/Glorot (normal) otherwise: the pairing each paper derived.</summary>
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

    /// <summary>The number of classes the targets encode (one-hot for the softmax cross-entropy, one output per label for
    /// binary cross-entropy, where 2 classes may also use a single output). When set, an output of another width is a
    /// compile-time error (ND0016).</summary>
    public int Classes { get; set; }

    /// <summary>The smallest target value, for regression. When set (with <see cref="TargetMaximum"/>), an output
    /// activation whose range cannot reach the targets is reported (ND0123); leave a bound unset for "unbounded".</summary>
    public double TargetMinimum { get; set; } = double.NegativeInfinity;

    /// <summary>The largest target value, for regression; see <see cref="TargetMinimum"/>.</summary>
    public double TargetMaximum { get; set; } = double.PositiveInfinity;
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

    /// <summary>Whether the layer adds a learned bias per unit (PyTorch's <c>bias</c>); a BatchNorm right after it
    /// replaces the bias with its β either way.</summary>
    public bool Bias { get; set; } = true;

    /// <summary>Whether the layer's parameters train (default). False freezes them, as for transfer learning: no optimizer
    /// update, no weight decay, no gradient computed below the lowest layer that trains, and a frozen BatchNorm normalizes
    /// with its running statistics and keeps them. <c>network.Freeze(name)</c> and <c>Unfreeze(name)</c> change it at run time.</summary>
    public bool Trainable { get; set; } = true;
}

/// <summary>A lookup table of learned vectors for integer ids (tokens, categories): right after a
/// <c>[Input(length)]</c> of ids (as floats holding whole numbers in [0, vocabulary)), each sample becomes a
/// (dimension, length) map — one channel per vector component, the ids along the length — which a <c>[Conv1D]</c>,
/// <c>[GlobalAveragePool]</c> (the mean of the vectors) or <c>[Flatten]</c> takes. The table is stored
/// [vocabulary, dimension] as PyTorch's <c>nn.Embedding.weight</c>, drawn from N(0, 1) as PyTorch does, and excluded
/// from weight decay; its gradient touches only the rows of the ids in the batch.</summary>
public sealed class EmbeddingAttribute(int vocabulary, int dimension) : LayerAttribute
{
    /// <summary>Number of distinct ids: the table's rows.</summary>
    public int Vocabulary { get; } = vocabulary;

    /// <summary>Components per vector: the table's columns, the output's channels.</summary>
    public int Dimension { get; } = dimension;

    /// <summary>Whether the table trains (default). False freezes it, as for pretrained vectors.</summary>
    public bool Trainable { get; set; } = true;
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

/// <summary>Parametric ReLU: z where z &gt; 0, a·z elsewhere, with a learned slope a per channel (per feature after
/// Dense, per map after Conv2D), stored in θ as <c>Layer.weight</c>.</summary>
public sealed class PReLUAttribute : LayerAttribute
{
    /// <summary>Every slope's starting value (PyTorch's default 0.25).</summary>
    public double InitialSlope { get; set; } = 0.25;

    /// <summary>Whether the layer's parameters train (default). False freezes them, as for transfer learning: no optimizer
    /// update, no weight decay, no gradient computed below the lowest layer that trains, and a frozen BatchNorm normalizes
    /// with its running statistics and keeps them. <c>network.Freeze(name)</c> and <c>Unfreeze(name)</c> change it at run time.</summary>
    public bool Trainable { get; set; } = true;
}

/// <summary>Maxout: each group of <paramref name="pieces"/> consecutive features (the linear pieces the Dense before it
/// computed) becomes its maximum, so Dense(units·k) then Maxout(k) gives units outputs.</summary>
public sealed class MaxoutAttribute(int pieces) : LayerAttribute
{
    /// <summary>Linear pieces per output, k ≥ 1.</summary>
    public int Pieces { get; } = pieces;
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

/// <summary>How pooling counts its windows when they do not tile the input exactly (PyTorch's <c>ceil_mode</c>).</summary>
public enum RoundingMode
{
    /// <summary>⌊(size − window) / stride⌋ + 1 windows: inputs past the last whole window are left out (PyTorch's and
    /// Keras's default).</summary>
    Floor = 0,
    /// <summary>⌈(size − window) / stride⌉ + 1 windows: the last ones overhang the input and cover only what is there
    /// (a max over the inputs inside, a mean divided by their count), as PyTorch's <c>ceil_mode=True</c>.</summary>
    Ceil = 1,
}

/// <summary>How a convolution pads its input.</summary>
public enum Padding
{
    /// <summary>Zeros around the input so that the output is ⌈input / stride⌉ (the input size at stride 1).</summary>
    Same = 0,
    /// <summary>No padding: only windows that fit entirely.</summary>
    Valid = 1,
    /// <summary><see cref="ConvolutionAttribute.PaddingSize"/> zeros on every side.</summary>
    Explicit = 2,
}

/// <summary>What the convolutions share: filters, kernel, stride, padding, initializer, bias and trainability.</summary>
public abstract class ConvolutionAttribute(int filters, int kernel) : LayerAttribute
{
    /// <summary>Output channels.</summary>
    public int Filters { get; } = filters;

    /// <summary>Kernel size: height and width in 2-D, length in 1-D.</summary>
    public int Kernel { get; } = kernel;

    /// <summary>Step between windows.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>How the input is padded.</summary>
    public Padding Padding { get; set; } = Padding.Same;

    /// <summary>Zeros per side with <see cref="Padding.Explicit"/>.</summary>
    public int PaddingSize { get; set; }

    /// <summary>How the weights are initialized; fans count channels × kernel area.</summary>
    public Init Init { get; set; } = Init.Auto;

    /// <summary>Whether the layer adds a learned bias per filter (PyTorch's <c>bias</c>); a BatchNorm right after it
    /// replaces the bias with its β either way.</summary>
    public bool Bias { get; set; } = true;

    /// <summary>Whether the layer's parameters train (default). False freezes them, as for transfer learning: no optimizer
    /// update, no weight decay, no gradient computed below the lowest layer that trains, and a frozen BatchNorm normalizes
    /// with its running statistics and keeps them. <c>network.Freeze(name)</c> and <c>Unfreeze(name)</c> change it at run time.</summary>
    public bool Trainable { get; set; } = true;
}

/// <summary>A 2-D convolution over a (channels, height, width) input with square kernels; weights are stored
/// [filters, channels, kernel, kernel] as in PyTorch. Lowered to the shared product through im2col.</summary>
public sealed class Conv2DAttribute(int filters, int kernel) : ConvolutionAttribute(filters, kernel);

/// <summary>A 1-D convolution over a (channels, length) input — a signal, or a sequence of feature vectors; weights are
/// stored [filters, channels, kernel] as in PyTorch's <c>Conv1d</c>. Computed as a 2-D convolution of height 1.</summary>
public sealed class Conv1DAttribute(int filters, int kernel) : ConvolutionAttribute(filters, kernel);

/// <summary>Maximum over size×size windows of a (channels, height, width) input, or windows of the given length over a
/// (channels, length) one (no padding); the stride defaults to the size, as in PyTorch.</summary>
public sealed class MaxPoolAttribute(int size) : LayerAttribute
{
    /// <summary>Window height and width (its length over a (channels, length) input).</summary>
    public int Size { get; } = size;

    /// <summary>Step between windows; 0 means the size.</summary>
    public int Stride { get; set; }

    /// <summary>Where the windows do not tile the input: <see cref="RoundingMode.Floor"/> leaves the last rows and
    /// columns out, <see cref="RoundingMode.Ceil"/> adds windows that overhang them.</summary>
    public RoundingMode RoundingMode { get; set; } = RoundingMode.Floor;
}

/// <summary>Mean over size×size windows of a (channels, height, width) input, or windows of the given length over a
/// (channels, length) one (no padding); the stride defaults to the size.</summary>
public sealed class AvgPoolAttribute(int size) : LayerAttribute
{
    /// <summary>Window height and width (its length over a (channels, length) input).</summary>
    public int Size { get; } = size;

    /// <summary>Step between windows; 0 means the size.</summary>
    public int Stride { get; set; }

    /// <summary>Where the windows do not tile the input: <see cref="RoundingMode.Floor"/> leaves the last rows and
    /// columns out, <see cref="RoundingMode.Ceil"/> adds windows that overhang them.</summary>
    public RoundingMode RoundingMode { get; set; } = RoundingMode.Floor;
}

/// <summary>Mean of each channel's whole map: (C, H, W), or (C, L), becomes (C).</summary>
public sealed class GlobalAveragePoolAttribute : LayerAttribute;

/// <summary>Batch normalization per feature (after Dense) or per channel (after Conv2D): batch statistics in training,
/// running averages at inference, learned γ and β. The layer before it drops its bias: β replaces it.</summary>
public sealed class BatchNormAttribute : LayerAttribute
{
    /// <summary>Running averages move as r ← momentum·r + (1 − momentum)·batch value.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; set; } = 1e-5;

    /// <summary>Whether the layer's parameters train (default). False freezes them, as for transfer learning: no optimizer
    /// update, no weight decay, no gradient computed below the lowest layer that trains, and a frozen BatchNorm normalizes
    /// with its running statistics and keeps them. <c>network.Freeze(name)</c> and <c>Unfreeze(name)</c> change it at run time.</summary>
    public bool Trainable { get; set; } = true;
}

/// <summary>A skip connection: the previous layer's output plus the output of the earlier layer named with
/// <c>nameof</c>, which must have the same shape unless <see cref="Projection"/> maps it. An activation declared after
/// it applies to the sum.</summary>
public sealed class AddAttribute(string source) : LayerAttribute
{
    /// <summary>The earlier layer whose output is added.</summary>
    public string Source { get; } = source;

    /// <summary>Whether the skip passes through a learned 1×1 convolution (with a bias) first: ResNet's projection
    /// shortcut, for a block that changes the channel count or downsamples. Its stride is the ratio of the two maps'
    /// sizes. Its weights are stored [channels, source channels, 1, 1] as <c>Layer.weight</c>, and its bias as <c>Layer.bias</c>.</summary>
    public bool Projection { get; set; }
}

/// <summary>Concatenation: the previous layer's output, then the output of the earlier layer named with <c>nameof</c>,
/// joined along the first dimension — the channels of (channels, height, width) or (channels, length) maps, whose other
/// dimensions must match, or the features of vectors (PyTorch's <c>torch.cat([previous, earlier], dim=1)</c>). For
/// Inception- and DenseNet-style blocks and for joining the branches of a multi-input model.</summary>
public sealed class ConcatAttribute(string source) : LayerAttribute
{
    /// <summary>The earlier layer whose output is joined after the previous layer's.</summary>
    public string Source { get; } = source;
}

/// <summary>Reshapes a multi-dimensional sample to one dimension (no data moves: samples are stored row-major).</summary>
public sealed class FlattenAttribute : LayerAttribute;

/// <summary>Inverted dropout: in training each value is zeroed with probability <paramref name="rate"/> and the
/// survivors are divided by 1 − rate; at inference it is the identity.</summary>
public sealed class DropoutAttribute(double rate) : LayerAttribute
{
    /// <summary>Probability of dropping a value, in [0, 1).</summary>
    public double Rate { get; } = rate;
}

/// <summary>The distribution of a Boltzmann machine's visible units given the hidden ones.</summary>
public enum UnitKind
{
    /// <summary>Binary units, on with probability σ(b + Wᵀh): pixels in [0, 1] read as probabilities.</summary>
    Bernoulli,

    /// <summary>Real-valued units with unit variance, mean b + Wᵀh: standardized real data (Hinton's guide, section 13.2).</summary>
    Gaussian,
}

/// <summary>Marks a <c>partial</c> class as a restricted Boltzmann machine: one <see cref="VisibleAttribute"/> layer and one
/// <see cref="HiddenAttribute"/> layer, connected to each other and not within a layer. The generator makes it a
/// <c>NetDsl.Boltzmann.BoltzmannMachine</c> with its sizes as constants.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class BoltzmannMachineAttribute : Attribute;

/// <summary>The visible layer of a Boltzmann machine: <paramref name="units"/> units of kind <see cref="Units"/>.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class VisibleAttribute(int units) : Attribute
{
    /// <summary>The number of visible units (the values per sample).</summary>
    public int Count { get; } = units;

    /// <summary>Bernoulli (default) for data in [0, 1], Gaussian for standardized real values.</summary>
    public UnitKind Units { get; set; } = UnitKind.Bernoulli;
}

/// <summary>The hidden layer of a Boltzmann machine: <paramref name="units"/> binary units.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class HiddenAttribute(int units) : Attribute
{
    /// <summary>The number of hidden units.</summary>
    public int Count { get; } = units;
}
