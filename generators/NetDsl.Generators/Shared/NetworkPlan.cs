using System.Collections.Generic;
using System.Linq;

using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

/// <summary>Activations a compute block applies after its core step (or on its own).</summary>
internal enum ActivationKind { None, ReLU, LeakyReLU, ELU, SELU, Sigmoid, Tanh, Softmax }

/// <summary>Shape arithmetic the plan shares.</summary>
internal static class Shapes
{
    /// <summary>How many values a tensor of this shape holds: the product of its dimensions.</summary>
    public static int Count(IEnumerable<int> shape) => shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>What a block's core step is.</summary>
internal enum BlockKind { Dense, Embedding, Conv, BatchNorm, PReLU, MaxPool, AvgPool, Add, Concat, Elementwise }

/// <summary>A declared layer with its inferred output shape.</summary>
internal sealed record LayerPlan(string Name, LayerKind Kind, EquatableArray<int> OutputShape, int ParameterCount, string Modifiers, bool Implementable)
{
    public int OutputSize => Shapes.Count(OutputShape);
}

/// <summary>One named tensor inside θ.</summary>
internal sealed record TensorPlan(string Name, string Layer, string ConstantPrefix, int Offset, EquatableArray<int> Shape, bool WeightDecay)
{
    public int Length => Shapes.Count(Shape);
}

/// <summary>One fused compute step: a core step (a Dense or convolution product, batch normalization, pooling) with the
/// activation and dropout that follow it, or, where no core step precedes them, a standalone elementwise activation
/// and/or dropout.</summary>
internal sealed record BlockPlan
{
    /// <summary>Position in forward order; also the dropout stream.</summary>
    public required int Index { get; init; }

    /// <summary>The first layer of the block.</summary>
    public required string Name { get; init; }

    public required BlockKind Kind { get; init; }

    /// <summary>Values per sample entering the block.</summary>
    public required int Inputs { get; init; }

    /// <summary>Values per sample leaving it.</summary>
    public required int Outputs { get; init; }

    /// <summary>Convolution filters, or the channels batch normalization and pooling work per.</summary>
    public required int Channels { get; init; }

    /// <summary>Index of the block whose output feeds this one; -1 for the network input.</summary>
    public required int InputBlock { get; init; }

    public ActivationKind Activation { get; init; }

    /// <summary>LeakyReLU's slope or ELU's α.</summary>
    public double ActivationParameter { get; init; }

    /// <summary>The layer that declared the activation.</summary>
    public string? ActivationLayer { get; init; }

    public double DropoutRate { get; init; }

    /// <summary>The layer that declared the dropout.</summary>
    public string? DropoutLayer { get; init; }

    /// <summary>A product's initializer (resolved from Auto once the layout is known).</summary>
    public Init Init { get; init; }

    /// <summary>A product's initializer arguments; PReLU's initial slope.</summary>
    public EquatableArray<double> InitArguments { get; init; } = EquatableArray<double>.Empty;

    /// <summary>Dense/Conv weights or BatchNorm γ, inside θ.</summary>
    public int WeightOffset { get; init; }

    /// <summary>Dense/Conv bias or BatchNorm β, inside θ.</summary>
    public int BiasOffset { get; init; }

    /// <summary>A convolution's or pooling's window walk.</summary>
    public ConvGeometry Geometry { get; init; }

    /// <summary>False for a product declared without a bias or followed by BatchNorm, whose β replaces it.</summary>
    public bool HasBias { get; init; } = true;

    /// <summary>BatchNorm's momentum and ε.</summary>
    public double Momentum { get; init; }

    public double Epsilon { get; init; }

    /// <summary>BatchNorm: where its running mean and variance start in the statistics vector.</summary>
    public int StatisticsOffset { get; init; }

    /// <summary>A folded product: where its folded weights, then bias, start in the folded vector.</summary>
    public int FoldOffset { get; init; }

    /// <summary>Add, Concat: the block whose output is added or joined (-1 for the network input).</summary>
    public int SourceBlock { get; init; } = -1;

    /// <summary>Whether the block reads an earlier block's output besides its input: a skip (Add) or a join (Concat).</summary>
    public bool ReadsSource => Kind is BlockKind.Add or BlockKind.Concat;

    /// <summary>Add with a projection: the skip passes through a learned 1×1 convolution (<see cref="Geometry"/> walks
    /// the source's maps) before it is added.</summary>
    public bool IsProjected { get; init; }

    /// <summary>Concat: the values per sample of its input, which come first; the source's follow.</summary>
    public int FirstWidth => Inputs;

    /// <summary>Embedding: the number of ids, the table's rows.</summary>
    public int Vocabulary { get; init; }

    /// <summary>Conv1D or pooling over a (channels, length) input: the window walks one row (height 1), and the weight
    /// and ONNX shapes leave the height out.</summary>
    public bool IsOneDimensional { get; init; }

    /// <summary>A product followed by BatchNorm: at inference it runs with the normalization folded into its weights.</summary>
    public bool IsFolded { get; init; }

    /// <summary>A 3×3 convolution that runs as Winograd's F(2×2, 3×3) where the machine has the kernel (float with
    /// AVX-512), from filters transformed once per change of its weights.</summary>
    public bool TakesWinograd => Kind == BlockKind.Conv && Geometry!.SuitsWinograd(Channels);

    /// <summary>A Winograd convolution: where its transformed filters start in the transformed vector.</summary>
    public int WinogradOffset { get; init; }

    public bool HasDropout => DropoutLayer is not null;

    /// <summary>Position among the network's dropout steps, in forward order; -1 without dropout.</summary>
    public int DropoutIndex { get; init; } = -1;

    /// <summary>With both an activation and dropout, the pre-dropout activation is kept for the backward pass.</summary>
    public bool KeepsActivation => Activation != ActivationKind.None && HasDropout;

    public bool IsProduct => Kind is BlockKind.Dense or BlockKind.Conv;

    /// <summary>Every block but a standalone activation/dropout: it owns a gradient buffer.</summary>
    public bool IsCore => Kind != BlockKind.Elementwise;

    public bool HasParameters => IsProduct || IsProjected || Kind is BlockKind.BatchNorm or BlockKind.PReLU or BlockKind.Embedding;

    /// <summary>Inputs per output unit: the Dense input width or the convolution patch C·K·K.</summary>
    public int FanIn => Kind == BlockKind.Conv || IsProjected ? Geometry!.PatchSize : Inputs;

    public int WeightLength => Kind switch
    {
        BlockKind.Dense => Inputs * Outputs,
        BlockKind.Conv => Channels * Geometry!.PatchSize,
        BlockKind.Embedding => Vocabulary * Channels,
        BlockKind.Add when IsProjected => Channels * Geometry!.PatchSize,
        BlockKind.BatchNorm or BlockKind.PReLU => Channels,
        _ => 0,
    };

    public int BiasLength => HasBias && (IsProduct || IsProjected || Kind == BlockKind.BatchNorm) ? (Kind == BlockKind.Dense ? Outputs : Channels) : 0;

    /// <summary>Positions per channel: 1 after Dense, H·W after a convolution.</summary>
    public int Spatial => Outputs / System.Math.Max(Channels, 1);
}

/// <summary>Plan: everything Emit needs, inferred once from the spec. When <see cref="IsValid"/> is false the
/// problems say why and only the public surface is emitted.</summary>
internal sealed record NetworkPlan(
    NetworkSpec Spec,
    EquatableArray<LayerPlan> Layers,
    EquatableArray<BlockPlan> Blocks,
    EquatableArray<TensorPlan> Tensors,
    EquatableArray<int> InputShape,
    int OutputSize,
    int ParameterCount,
    int StatisticsCount,
    int FoldedCount,
    int ActivationValuesPerSample,
    EquatableArray<Problem> Problems)
{
    /// <summary>Errors stop generation; warnings and information only advise.</summary>
    public bool IsValid => !Problems.Any(p => p.IsError);

    public int InputSize => Shapes.Count(InputShape);

    /// <summary>Dense blocks in order: the products that int8 inference quantizes.</summary>
    public IEnumerable<BlockPlan> DenseBlocks => Blocks.Where(b => b.Kind == BlockKind.Dense);

    /// <summary>Convolutions in order that take Winograd's F(2×2, 3×3) (<see cref="BlockPlan.TakesWinograd"/>).</summary>
    public IEnumerable<BlockPlan> WinogradBlocks => Blocks.Where(b => b.TakesWinograd);

    /// <summary>Floats of every Winograd convolution's transformed filters.</summary>
    public int WinogradLength => WinogradBlocks.Sum(b => b.Geometry!.WinogradWeightsLength(b.Channels));

    /// <summary>Whether the passes keep weights derived from θ (folded BatchNorms, int8 Dense weights, Winograd's
    /// transformed filters), which a version counter tells stale.</summary>
    public bool DerivesWeights => FoldedCount > 0 || DenseBlocks.Any() || WinogradBlocks.Any();
}
