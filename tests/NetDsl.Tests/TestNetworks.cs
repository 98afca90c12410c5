using NetDsl;

namespace NetDsl.Tests;

/// <summary>ReLU, Tanh and dropout between products; widths not multiples of a vector.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class SmallClassifier
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

/// <summary>Mean squared error on a sigmoid output, with input dropout and two activations in a row (a standalone
/// elementwise step between products).</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class SigmoidRegressor
{
    [Input(2, 3)] partial Layer Grid { get; }
    [Flatten] partial Layer Flat { get; }
    [Dropout(0.25)] partial Layer InputDrop { get; }
    [Dense(11, Init = Init.LeCun)] partial Layer Hidden { get; }
    [Tanh] partial Layer Squash { get; }
#pragma warning disable ND0120 // deliberate: two activations in a row make a standalone elementwise step to test
    [Sigmoid] partial Layer Gate { get; }
#pragma warning restore ND0120
    [Dense(4, Init = Init.XavierUniform)] partial Layer Out { get; }
    [Sigmoid] partial Layer Probability { get; }
}

/// <summary>A softmax inside the network (its backward needs whole rows) and a softmax output under MSE.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class SoftmaxInside
{
    [Input(5)] partial Layer Features { get; }
    [Dense(9, Init = Init.HeUniform)] partial Layer Hidden { get; }
    [Softmax] partial Layer Attention { get; }
    [Dropout(0.2)] partial Layer Drop { get; }
    [Dense(4, Init = Init.LeCunUniform)] partial Layer Out { get; }
    [Softmax] partial Layer Distribution { get; }
}

/// <summary>A 4-32-16-4 tanh MLP, the tiny-network case.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class TinyTanh
{
    [Input(4)] partial Layer X { get; }
    [Dense(32)] partial Layer H1 { get; }
    [Tanh] partial Layer T1 { get; }
    [Dense(16)] partial Layer H2 { get; }
    [Tanh] partial Layer T2 { get; }
    [Dense(4)] partial Layer Y { get; }
}

/// <summary>Every parameterized activation, a Linear no-op, uniform/normal initializers and label smoothing.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy, LabelSmoothing = 0.1)]
public partial class ActivationZoo
{
    [Input(5)] partial Layer Features { get; }
    [Dense(13, Init = Init.Normal, InitStandardDeviation = 0.4)] partial Layer Hidden1 { get; }
    [LeakyReLU(0.1)] partial Layer Leaky { get; }
    [Dense(11, Init = Init.Uniform, InitLow = -0.5, InitHigh = 0.6)] partial Layer Hidden2 { get; }
    [ELU(0.7)] partial Layer Elu { get; }
    [Dropout(0.2)] partial Layer Drop { get; }
    [Dense(9, Init = Init.LeCun)] partial Layer Hidden3 { get; }
    [SELU] partial Layer Selu { get; }
    [Linear] partial Layer Identity { get; }
    [Dense(4)] partial Layer Logits { get; }
}

/// <summary>Binary cross-entropy on independent sigmoid outputs, with label smoothing.</summary>
[Network(Loss = Loss.BinaryCrossEntropy, LabelSmoothing = 0.05)]
public partial class BinaryTagger
{
    [Input(6)] partial Layer Features { get; }
    [Dense(8)] partial Layer Hidden { get; }
    [Tanh] partial Layer Act { get; }
    [Dense(3)] partial Layer Tags { get; }
    [Sigmoid] partial Layer Probabilities { get; }
}

/// <summary>Conv-BN-ReLU-Pool-Dense-Dropout-Softmax: the mix the layer issue asks to check, small.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class MixedCnn
{
    [Input(2, 6, 6)] partial Layer Image { get; }
    [Conv2D(3, 3)] partial Layer Conv { get; }
    [BatchNorm] partial Layer Norm { get; }
    [ReLU] partial Layer Act { get; }
    [MaxPool(2)] partial Layer Pool { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(5)] partial Layer Hidden { get; }
    [Tanh] partial Layer HiddenAct { get; }
    [Dropout(0.3)] partial Layer Drop { get; }
    [Dense(4)] partial Layer Out { get; }
    [Softmax] partial Layer Probabilities { get; }
}

/// <summary>Strided valid and explicitly padded convolutions, average and global average pooling, BatchNorm after Dense.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class StridedCnn
{
    [Input(1, 9, 9)] partial Layer Image { get; }
    [Conv2D(4, 3, Stride = 2, Padding = Padding.Valid)] partial Layer Conv1 { get; }
    [ELU] partial Layer Act1 { get; }
    [Conv2D(3, 2, Padding = Padding.Explicit, PaddingSize = 1)] partial Layer Conv2 { get; }
    [Tanh] partial Layer Act2 { get; }
    [AvgPool(1)] partial Layer Pool { get; }
    [GlobalAveragePool] partial Layer Gap { get; }
    [Dense(6)] partial Layer Hidden { get; }
    [BatchNorm] partial Layer Norm { get; }
    [Sigmoid] partial Layer Act3 { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>A product whose bias BatchNorm replaces, for the folding check.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class DenseNorm
{
    [Input(5)] partial Layer Features { get; }
    [Dense(4)] partial Layer Hidden { get; }
    [BatchNorm(Momentum = 0.5)] partial Layer Norm { get; }

    /// <summary>Sets running statistics far from 0 and 1 (means 0.3c − 0.4, variances 0.25 + 3c for channel c), so
    /// that folding them into the product changes its weights.</summary>
    public DenseNorm WithSpreadStatistics()
    {
        var statistics = RunningStatistics;
        for (int c = 0; c < 4; c++)
        {
            statistics[c] = 0.3f * c - 0.4f;
            statistics[4 + c] = 0.25f + 3 * c;
        }
        return this;
    }
}

/// <summary>Two residual blocks: an identity skip around Dense-ReLU-Dense, a skip from a layer followed by dropout, and
/// a skip from the raw input.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class ResidualMlp
{
    [Input(6)] partial Layer Features { get; }
    [Dense(8)] partial Layer Stem { get; }
    [Tanh] partial Layer StemAct { get; }
    [Dense(8)] partial Layer Branch1 { get; }
    [ReLU] partial Layer Branch1Act { get; }
    [Dense(8)] partial Layer Branch2 { get; }
    [Add(nameof(StemAct))] partial Layer Residual1 { get; }
    [Tanh] partial Layer Residual1Act { get; }
    [Dropout(0.2)] partial Layer Drop { get; }
    [Dense(6)] partial Layer Widen { get; }
    [Add(nameof(Features))] partial Layer Residual2 { get; }
    [Add(nameof(Residual2))] partial Layer Doubled { get; }
    [Dense(3)] partial Layer Out { get; }
}

/// <summary>A residual convolution stage: Conv-BN-ReLU-Conv-BN plus the stage input, then ReLU.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class ResidualCnn
{
    [Input(2, 5, 5)] partial Layer Image { get; }
    [Conv2D(3, 3)] partial Layer Stem { get; }
    [ReLU] partial Layer StemAct { get; }
    [Conv2D(3, 3)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(3, 3)] partial Layer Conv2 { get; }
    [BatchNorm] partial Layer Norm2 { get; }
    [Add(nameof(StemAct))] partial Layer Skip { get; }
    [ReLU] partial Layer SkipAct { get; }
    [GlobalAveragePool] partial Layer Gap { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>Learned slopes after a convolution and after a Dense layer, and a maxout of 3 pieces.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class ParametricNet
{
    [Input(2, 4, 4)] partial Layer Image { get; }
    [Conv2D(3, 3)] partial Layer Conv { get; }
    [PReLU(InitialSlope = 0.3)] partial Layer ConvAct { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(12)] partial Layer Pieces { get; }
    [Maxout(3)] partial Layer Max { get; }
    [Dense(5)] partial Layer Hidden { get; }
    [PReLU] partial Layer HiddenAct { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>PReLU directly on the input: its input gradient has nowhere to go, its slopes still learn.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class InputPReLU
{
    [Input(4)] partial Layer Features { get; }
    [PReLU(InitialSlope = -0.2)] partial Layer Slopes { get; }
    [Dense(2)] partial Layer Out { get; }
}

/// <summary>Pooling straight after convolutions, where it runs inside the convolution's per-sample loop.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class PooledCnn
{
    [Input(1, 8, 8)] partial Layer Image { get; }
    [Conv2D(3, 3)] partial Layer Conv1 { get; }
    [MaxPool(2)] partial Layer Pool1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(2, 3, Init = Init.Xavier)] partial Layer Conv2 { get; }
    [Tanh] partial Layer Act2 { get; }
    [AvgPool(2)] partial Layer Pool2 { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>Convolutions large enough, at batch 28, for their samples and BatchNorm's channels to be shared between
/// the two cores (the part-1 partial dW, its own column gradient, regularization added once).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class SharedCnn
{
    [Input(3, 10, 10)] partial Layer Image { get; }
    [Conv2D(8, 3)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm { get; }
    [ReLU] partial Layer Act1 { get; }
    [MaxPool(2)] partial Layer Pool { get; }
    [Conv2D(4, 3)] partial Layer Conv2 { get; }
    [ReLU] partial Layer Act2 { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Out { get; }
}

/// <summary>A convolution with a narrow patch (one channel, 3×3) and more filters, without a bias (BatchNorm follows):
/// its weight gradient is taken as the transposed product, filters as columns.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class NarrowPatchCnn
{
    [Input(1, 6, 6)] partial Layer Image { get; }
    [Conv2D(16, 3)] partial Layer Conv { get; }
    [BatchNorm] partial Layer Norm { get; }
    [ReLU] partial Layer Act { get; }
    [MaxPool(2)] partial Layer Pool { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>A convolution and a Dense layer without biases, and pooling whose windows overhang the input
/// (RoundingMode.Ceil, PyTorch's ceil_mode): 2×5×5 → conv 3×5×5 → max 3×3×3 → mean 3×2×2 → 4.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class CeilPoolNoBias
{
    [Input(2, 5, 5)] partial Layer Image { get; }
    [Conv2D(3, 3, Bias = false)] partial Layer Conv { get; }
    [Tanh] partial Layer Squash { get; }
    [MaxPool(2, RoundingMode = RoundingMode.Ceil)] partial Layer Max { get; }
    [AvgPool(2, RoundingMode = RoundingMode.Ceil)] partial Layer Mean { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(4, Bias = false)] partial Layer Out { get; }
}

/// <summary>Pooling that leaves the last row and column out (RoundingMode.Floor, the default): 1×5×5 → 1×2×2.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class FloorPool
{
    [Input(1, 5, 5)] partial Layer Image { get; }
    [MaxPool(2)] partial Layer Max { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(2)] partial Layer Out { get; }
}

#pragma warning disable ND0120 // deliberate: an activation right after PReLU must not take over its initial slope
/// <summary>PReLU followed by another activation: each keeps its own parameter.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class PReluThenLeaky
{
    [Input(3)] partial Layer Features { get; }
    [Dense(4)] partial Layer Hidden { get; }
    [PReLU(InitialSlope = 0.5)] partial Layer Learned { get; }
    [LeakyReLU(0.2)] partial Layer Leaky { get; }
    [Dense(2)] partial Layer Out { get; }
}

/// <summary>PReLU then ReLU, whose fused backward pass once used the ReLU's parameter as the slope.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class PReluThenRelu
{
    [Input(3)] partial Layer Features { get; }
    [Dense(4)] partial Layer Hidden { get; }
    [PReLU] partial Layer Learned { get; }
    [ReLU] partial Layer Rectified { get; }
    [Dense(2)] partial Layer Out { get; }
}
#pragma warning restore ND0120

/// <summary>The sample MLP's body with a five-class head: transfer learning loads the body from its checkpoint.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class FiveClassMlp
{
    [Input(784)] partial Layer Pixels { get; }
    [Dense(256, Init = Init.He)] partial Layer Hidden1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Dense(128, Init = Init.He)] partial Layer Hidden2 { get; }
    [ReLU] partial Layer Act2 { get; }
    [Dense(5)] partial Layer Logits { get; }
}

/// <summary>A pretrained base declared frozen, and a head that trains (transfer learning).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class FrozenBase
{
    [Input(6)] partial Layer Features { get; }
    [Dense(8, Trainable = false)] partial Layer Base { get; }
    [ReLU] partial Layer Act { get; }
    [Dense(3)] partial Layer Head { get; }
}

/// <summary>1-D convolutions over (channels, length): 12×20 → Conv1D 4 (same, 36 patch rows, so packed from the image) →
/// BatchNorm, ReLU → max over 2 → 4×10 → Conv1D 6 (kernel 4, stride 2, valid) → 6×4 → PReLU per channel → mean over 2
/// → 6×2 → Dense 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class SequenceCnn
{
    [Input(12, 20)] partial Layer Signal { get; }
    [Conv1D(4, 3)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [MaxPool(2)] partial Layer Pool1 { get; }
    [Conv1D(6, 4, Stride = 2, Padding = Padding.Valid)] partial Layer Conv2 { get; }
    [PReLU] partial Layer Act2 { get; }
    [AvgPool(2)] partial Layer Pool2 { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>A 1-D convolution with explicit padding, a ceil-mode window that overhangs the sequence's end, and global
/// average pooling over the length: 3×11 → Conv1D 5 (kernel 5, padding 1) → 5×9 → max over 2, ceil → 5×5 → mean → 5 → 2.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class SequenceGap
{
    [Input(3, 11)] partial Layer Signal { get; }
    [Conv1D(5, 5, Padding = Padding.Explicit, PaddingSize = 1)] partial Layer Conv { get; }
    [Tanh] partial Layer Act { get; }
    [MaxPool(2, RoundingMode = RoundingMode.Ceil)] partial Layer Pool { get; }
    [GlobalAveragePool] partial Layer Gap { get; }
    [Dense(2)] partial Layer Out { get; }
}

/// <summary>Token ids through an embedding: 6 ids of a vocabulary of 9 → 4×6 vectors, channels-first → Conv1D 5 → Tanh
/// → global mean over the length → 2 classes.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class TokenCnn
{
    [Input(6)] partial Layer Tokens { get; }
    [Embedding(9, 4)] partial Layer Embed { get; }
    [Conv1D(5, 3)] partial Layer Conv { get; }
    [Tanh] partial Layer Act { get; }
    [GlobalAveragePool] partial Layer Mean { get; }
    [Dense(2)] partial Layer Logits { get; }
}

/// <summary>Categorical features: 3 ids of a vocabulary of 5, each a 2-vector, flattened into a small MLP.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class CategoryMlp
{
    [Input(3)] partial Layer Categories { get; }
    [Embedding(5, 2)] partial Layer Embed { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(4)] partial Layer Hidden { get; }
    [ReLU] partial Layer Act { get; }
    [Dense(1)] partial Layer Out { get; }
}

/// <summary>A join of feature vectors: 5 → Dense 6, ReLU → Dense 4, Tanh → Concat with the ReLU's output (4 + 6) → 3.
/// The ReLU's gradient comes back from two places: Branch's product and the Concat's trailing six values.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class ConcatMlp
{
    [Input(5)] partial Layer Features { get; }
    [Dense(6)] partial Layer Hidden { get; }
    [ReLU] partial Layer Act1 { get; }
    [Dense(4)] partial Layer Branch { get; }
    [Tanh] partial Layer Act2 { get; }
    [Concat(nameof(Act1))] partial Layer Joined { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>Wide and deep: the raw input joined after a hidden layer's output: 4 → Dense 5, Sigmoid → Concat with the
/// input (5 + 4) → 2.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class WideAndDeep
{
    [Input(4)] partial Layer Features { get; }
    [Dense(5)] partial Layer Deep { get; }
    [Sigmoid] partial Layer Squash { get; }
    [Concat(nameof(Features))] partial Layer Joined { get; }
    [Dense(2)] partial Layer Out { get; }
}

/// <summary>A DenseNet-style join of channel maps: 2×6×6 → Conv 3, ReLU → Conv 4, Tanh → Concat with the ReLU's maps
/// (4 + 3 channels) → BatchNorm over 7 channels → max over 2 → 7×3×3 → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class ConcatCnn
{
    [Input(2, 6, 6)] partial Layer Image { get; }
    [Conv2D(3, 3)] partial Layer Conv1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(4, 3)] partial Layer Conv2 { get; }
    [Tanh] partial Layer Act2 { get; }
    [Concat(nameof(Act1))] partial Layer Joined { get; }
    [BatchNorm] partial Layer Norm { get; }
    [MaxPool(2)] partial Layer Pool { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>ResNet's downsampling block: 3×8×8 → Conv 4 → BatchNorm, ReLU (X) → Conv 6 stride 2 → BatchNorm, ReLU →
/// Conv 6 → BatchNorm → plus X through a projection (1×1, stride 2, 4 → 6 channels) → ReLU → 6×4×4 → mean → 3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class ProjectedResidual
{
    [Input(3, 8, 8)] partial Layer Image { get; }
    [Conv2D(4, 3)] partial Layer Stem { get; }
    [BatchNorm] partial Layer StemNorm { get; }
    [ReLU] partial Layer X { get; }
    [Conv2D(6, 3, Stride = 2)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(6, 3)] partial Layer Conv2 { get; }
    [BatchNorm] partial Layer Norm2 { get; }
    [Add(nameof(X), Projection = true)] partial Layer Sum { get; }
    [ReLU] partial Layer Out1 { get; }
    [GlobalAveragePool] partial Layer Mean { get; }
    [Dense(3)] partial Layer Logits { get; }
}

/// <summary>A ResNet-18-style network on 32×32 inputs, narrow: a stem, then four stages of two basic blocks (two 3×3
/// convolutions with BatchNorm), each stage after the first downsampling by a stride-2 convolution with a projection
/// shortcut; global average pooling and 10 classes.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class ResNet18Narrow
{
    [Input(3, 32, 32)] partial Layer Image { get; }
    [Conv2D(8, 3)] partial Layer Stem { get; }
    [BatchNorm] partial Layer StemNorm { get; }
    [ReLU] partial Layer S0 { get; }
    // Stage 1: 8 channels, 32×32.
    [Conv2D(8, 3)] partial Layer A1 { get; } [BatchNorm] partial Layer A1N { get; } [ReLU] partial Layer A1R { get; }
    [Conv2D(8, 3)] partial Layer A2 { get; } [BatchNorm] partial Layer A2N { get; } [Add(nameof(S0))] partial Layer A { get; } [ReLU] partial Layer AR { get; }
    [Conv2D(8, 3)] partial Layer B1 { get; } [BatchNorm] partial Layer B1N { get; } [ReLU] partial Layer B1R { get; }
    [Conv2D(8, 3)] partial Layer B2 { get; } [BatchNorm] partial Layer B2N { get; } [Add(nameof(AR))] partial Layer B { get; } [ReLU] partial Layer BR { get; }
    // Stage 2: 16 channels, 16×16.
    [Conv2D(16, 3, Stride = 2)] partial Layer C1 { get; } [BatchNorm] partial Layer C1N { get; } [ReLU] partial Layer C1R { get; }
    [Conv2D(16, 3)] partial Layer C2 { get; } [BatchNorm] partial Layer C2N { get; } [Add(nameof(BR), Projection = true)] partial Layer C { get; } [ReLU] partial Layer CR { get; }
    [Conv2D(16, 3)] partial Layer D1 { get; } [BatchNorm] partial Layer D1N { get; } [ReLU] partial Layer D1R { get; }
    [Conv2D(16, 3)] partial Layer D2 { get; } [BatchNorm] partial Layer D2N { get; } [Add(nameof(CR))] partial Layer D { get; } [ReLU] partial Layer DR { get; }
    // Stage 3: 32 channels, 8×8.
    [Conv2D(32, 3, Stride = 2)] partial Layer E1 { get; } [BatchNorm] partial Layer E1N { get; } [ReLU] partial Layer E1R { get; }
    [Conv2D(32, 3)] partial Layer E2 { get; } [BatchNorm] partial Layer E2N { get; } [Add(nameof(DR), Projection = true)] partial Layer E { get; } [ReLU] partial Layer ER { get; }
    [Conv2D(32, 3)] partial Layer F1 { get; } [BatchNorm] partial Layer F1N { get; } [ReLU] partial Layer F1R { get; }
    [Conv2D(32, 3)] partial Layer F2 { get; } [BatchNorm] partial Layer F2N { get; } [Add(nameof(ER))] partial Layer F { get; } [ReLU] partial Layer FR { get; }
    // Stage 4: 64 channels, 4×4.
    [Conv2D(64, 3, Stride = 2)] partial Layer G1 { get; } [BatchNorm] partial Layer G1N { get; } [ReLU] partial Layer G1R { get; }
    [Conv2D(64, 3)] partial Layer G2 { get; } [BatchNorm] partial Layer G2N { get; } [Add(nameof(FR), Projection = true)] partial Layer G { get; } [ReLU] partial Layer GR { get; }
    [Conv2D(64, 3)] partial Layer H1 { get; } [BatchNorm] partial Layer H1N { get; } [ReLU] partial Layer H1R { get; }
    [Conv2D(64, 3)] partial Layer H2 { get; } [BatchNorm] partial Layer H2N { get; } [Add(nameof(GR))] partial Layer H { get; } [ReLU] partial Layer HR { get; }
    [GlobalAveragePool] partial Layer Pool { get; }
    [Dense(10)] partial Layer Logits { get; }
}

/// <summary>A projected shortcut from the network input itself: 2×6×6 → Conv 3 stride 2, Tanh → plus the input through
/// a 1×1 stride-2 projection (2 → 3 channels) → Flatten → 2.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class InputProjection
{
    [Input(2, 6, 6)] partial Layer Image { get; }
    [Conv2D(3, 3, Stride = 2)] partial Layer Conv { get; }
    [Tanh] partial Layer Act { get; }
    [Add(nameof(Image), Projection = true)] partial Layer Sum { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(2)] partial Layer Out { get; }
}

/// <summary>Two 3×3 convolutions over 16 channels, which take Winograd's F(2×2, 3×3) where the machine runs it, the
/// second passing its input gradient back by Winograd too (16 maps to 16 channels). At inference the second one's
/// tiles are pooled straight into Pool2 (its BatchNorm folded, an even-sided map).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class WinogradCnn
{
    [Input(16, 8, 6)] partial Layer Image { get; }
    [Conv2D(16, 3)] partial Layer Conv1 { get; }
    [BatchNorm] partial Layer Norm1 { get; }
    [ReLU] partial Layer Act1 { get; }
    [Conv2D(16, 3)] partial Layer Conv2 { get; }
    [BatchNorm] partial Layer Norm2 { get; }
    [ReLU] partial Layer Act2 { get; }
    [MaxPool(2)] partial Layer Pool2 { get; }
    [Flatten] partial Layer Flat { get; }
    [Dense(3)] partial Layer Logits { get; }
}
