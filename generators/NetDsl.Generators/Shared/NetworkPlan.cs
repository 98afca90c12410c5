using System.Linq;

namespace NetDsl.Generators.Shared;

/// <summary>Activations a compute block applies after its product (or on its own).</summary>
internal enum ActivationKind { None, ReLU, LeakyReLU, ELU, SELU, Sigmoid, Tanh, Softmax }

/// <summary>A declared layer with its inferred output shape.</summary>
internal sealed record LayerPlan(string Name, LayerKind Kind, EquatableArray<int> OutputShape, int ParameterCount, string Modifiers, bool Implementable)
{
    public int OutputSize => OutputShape.Aggregate(1, (a, b) => a * b);
}

/// <summary>One named tensor inside θ.</summary>
internal sealed record TensorPlan(string Name, string Layer, string ConstantPrefix, int Offset, EquatableArray<int> Shape, bool WeightDecay)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>One fused compute step: a Dense product with the activation and dropout that follow it in its epilogue,
/// or, where no product precedes them, a standalone elementwise activation and/or dropout.</summary>
/// <param name="Index">Position in forward order; also the dropout stream.</param>
/// <param name="Name">The first layer of the block (the Dense layer, or the standalone activation/dropout).</param>
/// <param name="InputBlock">Index of the block whose output feeds this one; -1 for the network input.</param>
internal sealed record BlockPlan(
    int Index,
    string Name,
    bool IsDense,
    int Inputs,
    int Outputs,
    ActivationKind Activation,
    double ActivationParameter,
    string? ActivationLayer,
    double DropoutRate,
    string? DropoutLayer,
    InitKind Init,
    EquatableArray<double> InitArguments,
    int WeightOffset,
    int BiasOffset,
    int InputBlock)
{
    public bool HasDropout => DropoutLayer is not null;

    /// <summary>With both an activation and dropout, the pre-dropout activation is kept for the backward pass.</summary>
    public bool KeepsActivation => Activation != ActivationKind.None && HasDropout;

    public int WeightLength => Inputs * Outputs;
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
    int ActivationValuesPerSample,
    EquatableArray<Problem> Problems)
{
    public bool IsValid => Problems.Count == 0;

    public int InputSize => InputShape.Aggregate(1, (a, b) => a * b);
}
