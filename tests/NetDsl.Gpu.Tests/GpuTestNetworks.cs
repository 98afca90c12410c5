using NetDsl;

namespace NetDsl.Gpu.Tests;

/// <summary>ReLU, Tanh and dropout between products; no width a multiple of the 16-wide tiles.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy, LabelSmoothing = 0.1)]
public partial class GpuClassifier
{
    [Input(6)] partial Layer Features { get; }
    [Dense(37)] partial Layer Hidden1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Dropout(0.3)] partial Layer Drop1 { get; }
    [Dense(19, Init = Init.XavierUniform)] partial Layer Hidden2 { get; }
    [Tanh] partial Layer Act2 { get; }
    [Dropout(0.1)] partial Layer Drop2 { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>ELU, SELU and LeakyReLU, and mean squared error through a sigmoid output and dropout after it (the loss
/// gradient's own step: mask and derivative).</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class GpuRegressor
{
    [Input(5)] partial Layer Features { get; }
    [Dense(23, Init = Init.He)] partial Layer Hidden1 { get; }
    [ELU(0.7)] partial Layer Act1 { get; }
    [Dense(17, Init = Init.LeCun)] partial Layer Hidden2 { get; }
    [SELU] partial Layer Act2 { get; }
    [Dense(9, Init = Init.He)] partial Layer Hidden3 { get; }
    [LeakyReLU(0.05)] partial Layer Act3 { get; }
    [Dense(4, Init = Init.XavierUniform)] partial Layer Out { get; }
    [Sigmoid] partial Layer Probability { get; }
#pragma warning disable ND0109 // deliberate: dropout after the last layer exercises the output step's mask
    [Dropout(0.15)] partial Layer OutputDrop { get; }
#pragma warning restore ND0109
}

/// <summary>Binary cross-entropy fused with the output sigmoid (no derivative of it in the backward pass).</summary>
[Network(Loss = Loss.BinaryCrossEntropy)]
public partial class GpuTagger
{
    [Input(7)] partial Layer Features { get; }
    [Dense(20, Init = Init.Xavier)] partial Layer Hidden { get; }
    [Sigmoid] partial Layer Squash { get; }
    [Dropout(0.2)] partial Layer Drop { get; }
    [Dense(3, Init = Init.Xavier)] partial Layer Out { get; }
    [Sigmoid] partial Layer Probability { get; }
}

/// <summary>A convolution with same padding and no bias (BatchNorm follows), BatchNorm over channels, overlapping max
/// pooling on an odd map, a strided convolution whose same padding falls on one side only, with bias and ELU, average
/// pooling, dropout after a convolution block and a Dense head: every layer kind of the GPU's CNN path.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuCnn
{
    [Input(2, 9, 9)] partial Layer Image { get; }
    [Conv2D(4, 3, Init = Init.He)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [MaxPool(3, Stride = 2)] partial Layer Pool1 { get; }
    [Conv2D(5, 3, Stride = 2, Init = Init.He)] partial Layer Conv2 { get; }
    [ELU] partial Layer Act2 { get; }
    [AvgPool(2)] partial Layer Pool2 { get; }
    [Dropout(0.2)] partial Layer Drop2 { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(7, Init = Init.Xavier)] partial Layer Hidden { get; }
    [Tanh] partial Layer Act3 { get; }
    [Dropout(0.25)] partial Layer Drop3 { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>Dropout on the inputs (a layer of its own), a Dense layer without bias before BatchNorm over features,
/// Maxout, and mean squared error.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class GpuNormedMlp
{
    [Input(6)] partial Layer Features { get; }
    [Dropout(0.1)] partial Layer InputDrop { get; }
    [Dense(12, Init = Init.He)] partial Layer Hidden { get; }
    [BatchNorm] partial Layer Norm { get; }
    [Maxout(3)] partial Layer Pieces { get; }
    [Dense(2, Init = Init.Xavier)] partial Layer Out { get; }
}

/// <summary>Skip connections (one around two convolutions with BatchNorm, one adding a Dense layer's output to itself)
/// and PReLU with a learned slope per channel.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuResidual
{
    [Input(2, 5, 5)] partial Layer Image { get; }
    [Conv2D(3, 3, Init = Init.He)] partial Layer Stem { get; }
    [PReLU] partial Layer StemAct { get; }
    [Conv2D(3, 3, Init = Init.He)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(3, 3, Init = Init.He)] partial Layer Conv2 { get; }
    [BatchNorm] partial Layer Norm2 { get; }
    [Add(nameof(StemAct))] partial Layer Skip { get; }
    [ReLU] partial Layer SkipAct { get; }
    [Dropout(0.2)] partial Layer Drop { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(6, Init = Init.Xavier)] partial Layer Hidden { get; }
    [Add(nameof(Hidden))] partial Layer Doubled { get; }
    [Tanh] partial Layer DoubledAct { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>A softmax inside the network (with dropout after it, so its output is kept apart) and a softmax output
/// under mean squared error: the row kernels forward and backward.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class GpuAttention
{
    [Input(5)] partial Layer Features { get; }
    [Dense(9, Init = Init.Xavier)] partial Layer Scores { get; }
    [Softmax] partial Layer Attention { get; }
    [Dropout(0.2)] partial Layer Drop { get; }
    [Dense(6, Init = Init.Xavier)] partial Layer Mix { get; }
    [Tanh] partial Layer Act { get; }
    [Dense(4, Init = Init.Xavier)] partial Layer Out { get; }
    [Softmax] partial Layer Distribution { get; }
}

/// <summary>Products without a bias and pooling windows that overhang the input (RoundingMode.Ceil): 2×7×7 → conv
/// 3×7×7 → max 3×4×4 → mean 3×2×2 → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuCeilPool
{
    [Input(2, 7, 7)] partial Layer Image { get; }
    [Conv2D(3, 3, Bias = false)] partial Layer Conv { get; }
    [Tanh] partial Layer Squash { get; }
    [MaxPool(2, RoundingMode = RoundingMode.Ceil)] partial Layer Max { get; }
    [AvgPool(3, Stride = 2, RoundingMode = RoundingMode.Ceil)] partial Layer Mean { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3, Bias = false)] partial Layer Out { get; }
}

/// <summary>1-D convolutions over (channels, length): 3×16 → Conv1D 4 → BatchNorm, ReLU → max over 2 → 4×8 → Conv1D 5
/// (kernel 4, stride 2, valid), Tanh → 5×3 → mean over 3 → 5 → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuSequence
{
    [Input(3, 16)] partial Layer Signal { get; }
    [Conv1D(4, 3)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm { get; }
    [ReLU] partial Layer Act { get; }
    [MaxPool(2)] partial Layer Pool { get; }
    [Conv1D(5, 4, Stride = 2, Padding = Padding.Valid)] partial Layer Conv2 { get; }
    [Tanh] partial Layer Squash { get; }
    [AvgPool(3)] partial Layer Mean { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Out { get; }
}

/// <summary>Token ids through an embedding: 5 ids of a vocabulary of 7 → 3×5 → Conv1D 4 → ReLU → global mean → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuTokens
{
    [Input(5)] partial Layer Tokens { get; }
    [Embedding(7, 3)] partial Layer Embed { get; }
    [Conv1D(4, 3)] partial Layer Conv { get; }
    [ReLU] partial Layer Act { get; }
    [GlobalAveragePool] partial Layer Mean { get; }
    [Dense(3)] partial Layer Out { get; }
}

/// <summary>Joins of channel maps and of features: 2×5×5 → Conv 3, ReLU → Conv 2, Tanh → Concat with the ReLU's maps
/// (2 + 3 channels) → Flatten → Dense 6, ELU → Concat with the flattened maps (6 + 125) → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuConcat
{
    [Input(2, 5, 5)] partial Layer Image { get; }
    [Conv2D(3, 3)] partial Layer Conv1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(2, 3)] partial Layer Conv2 { get; }
    [Tanh] partial Layer Act2 { get; }
    [Concat(nameof(Act1))] partial Layer Maps { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(6)] partial Layer Hidden { get; }
    [ELU] partial Layer Act3 { get; }
    [Concat(nameof(Flat))] partial Layer Features { get; }
    [Dense(3)] partial Layer Out { get; }
}

/// <summary>ResNet's downsampling block: 2×6×6 → Conv 3, BatchNorm, ReLU (X) → Conv 4 stride 2, BatchNorm, ReLU →
/// Conv 4, BatchNorm → plus X through a 1×1 stride-2 projection → ReLU → 4×3×3 → mean → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuProjected
{
    [Input(2, 6, 6)] partial Layer Image { get; }
    [Conv2D(3, 3)] partial Layer Stem { get; }
    [BatchNorm] partial Layer StemNorm { get; }
    [ReLU] partial Layer X { get; }
    [Conv2D(4, 3, Stride = 2)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(4, 3)] partial Layer Conv2 { get; }
    [BatchNorm] partial Layer Norm2 { get; }
    [Add(nameof(X), Projection = true)] partial Layer Sum { get; }
    [ReLU] partial Layer Out1 { get; }
    [GlobalAveragePool] partial Layer Mean { get; }
    [Dense(3)] partial Layer Out { get; }
}

/// <summary>A projected shortcut from the network input: 2×6×6 → Conv 3 stride 2, Tanh → plus the input through a
/// 1×1 stride-2 projection → Flatten → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class GpuInputProjection
{
    [Input(2, 6, 6)] partial Layer Image { get; }
    [Conv2D(3, 3, Stride = 2)] partial Layer Conv { get; }
    [Tanh] partial Layer Act { get; }
    [Add(nameof(Image), Projection = true)] partial Layer Sum { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Out { get; }
}
