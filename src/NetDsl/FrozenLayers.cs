using System.ComponentModel;
using NetDsl.Optimizers;

namespace NetDsl;

/// <summary>Which layers of a generated network are frozen (transfer learning): their tensors get no update from any
/// optimizer and no weight decay, their gradients read zero, a frozen BatchNorm normalizes with its running statistics
/// and keeps them (PyTorch's <c>eval()</c> of that module), and the backward pass stops below the lowest layer that
/// still trains. Generated networks own one and forward <c>Freeze</c>, <c>Unfreeze</c> and <c>FrozenLayers</c> to it.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class FrozenLayers
{
    readonly string network;
    readonly IReadOnlyList<Layer> layers;
    readonly IReadOnlyList<ParameterTensor> tensors;
    readonly string?[] blockLayers;
    readonly HashSet<string> frozen = new(StringComparer.Ordinal);
    bool[] frozenBlocks;
    (int Offset, int Length)[] frozenRanges = [], trainableRanges = [];
    ParameterTensor[] decayTensors = [];
    float[] kept = [];

    /// <param name="network">The network's name, for errors.</param>
    /// <param name="layers">The declared layers.</param>
    /// <param name="tensors">θ's named tensors.</param>
    /// <param name="blockLayers">Per block of the passes (forward order), the layer whose parameters it holds, or null.</param>
    /// <param name="initiallyFrozen">The layers declared with <c>Trainable = false</c>.</param>
    public FrozenLayers(string network, IReadOnlyList<Layer> layers, IReadOnlyList<ParameterTensor> tensors, string?[] blockLayers, string[] initiallyFrozen)
    {
        this.network = network;
        this.layers = layers;
        this.tensors = tensors;
        this.blockLayers = blockLayers;
        frozenBlocks = new bool[blockLayers.Length];
        foreach (string layer in initiallyFrozen) frozen.Add(layer);
        Update();
    }

    /// <summary>The frozen layers, in declaration order.</summary>
    public IReadOnlyList<string> Layers { get; private set; } = [];

    /// <summary>Whether any layer is frozen.</summary>
    public bool Any => frozen.Count > 0;

    /// <summary>Whether block <paramref name="block"/> (forward order) holds a frozen layer's parameters.</summary>
    public bool IsFrozen(int block) => frozenBlocks[block];

    /// <summary>The first block, in forward order, with parameters that train; the backward pass needs nothing below it.
    /// The block count when none trains.</summary>
    public int FirstTrainableBlock { get; private set; }

    /// <summary>θ's ranges that belong to the frozen layers' tensors.</summary>
    public IReadOnlyList<(int Offset, int Length)> FrozenRanges => frozenRanges;

    /// <summary>The tensors of the layers that train; the penalty applies to those of them marked for weight decay.</summary>
    public IReadOnlyList<ParameterTensor> DecayTensors => decayTensors;

    /// <summary>Freezes <paramref name="layer"/>: a layer with parameters (Dense, Conv2D, BatchNorm, PReLU).</summary>
    public void Freeze(string layer)
    {
        Require(layer);
        if (frozen.Add(layer)) Update();
    }

    /// <summary>Lets <paramref name="layer"/> train again.</summary>
    public void Unfreeze(string layer)
    {
        Require(layer);
        if (frozen.Remove(layer)) Update();
    }

    void Require(string layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (!layers.Any(l => l.Name == layer))
            throw new ArgumentException($"{network} has no layer '{layer}'; its layers are {string.Join(", ", layers.Select(l => l.Name))}.", nameof(layer));
        if (!tensors.Any(t => t.Layer == layer))
            throw new ArgumentException($"Layer '{layer}' of {network} has no parameters to freeze; layers with parameters: {string.Join(", ", tensors.Select(t => t.Layer).Distinct())}.", nameof(layer));
    }

    void Update()
    {
        Layers = layers.Select(l => l.Name).Where(frozen.Contains).ToArray();
        for (int b = 0; b < blockLayers.Length; b++) frozenBlocks[b] = blockLayers[b] is { } name && frozen.Contains(name);
        FirstTrainableBlock = Enumerable.Range(0, blockLayers.Length).FirstOrDefault(b => blockLayers[b] is { } name && !frozen.Contains(name), blockLayers.Length);
        frozenRanges = tensors.Where(t => frozen.Contains(t.Layer)).Select(t => (t.Offset, t.Length)).ToArray();
        trainableRanges = tensors.Where(t => !frozen.Contains(t.Layer)).Select(t => (t.Offset, t.Length)).ToArray();
        decayTensors = tensors.Where(t => !frozen.Contains(t.Layer)).ToArray();
    }

    /// <summary>Zeroes the frozen tensors' gradients: the backward pass stops below the lowest layer that trains and does
    /// not write theirs.</summary>
    public void ClearGradients<T>(Span<T> gradients) where T : unmanaged
    {
        foreach (var (offset, length) in frozenRanges) gradients.Slice(offset, length).Clear();
    }

    /// <summary>The optimizer's update of the layers that train. An <see cref="OptimizerBase"/> updates only their
    /// ranges (its state for frozen tensors stays as it was); another optimizer updates all of θ, and the frozen
    /// tensors are put back.</summary>
    public void Step(IOptimizer optimizer, Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (!Any)
        {
            optimizer.Step(parameters, gradients);
            return;
        }
        if (optimizer is OptimizerBase known)
        {
            known.StepRanges(parameters, gradients, trainableRanges);
            return;
        }
        if (kept.Length != parameters.Length) kept = new float[parameters.Length];
        foreach (var (offset, length) in frozenRanges) parameters.Slice(offset, length).CopyTo(kept.AsSpan(offset, length));
        optimizer.Step(parameters, gradients);
        foreach (var (offset, length) in frozenRanges) kept.AsSpan(offset, length).CopyTo(parameters.Slice(offset, length));
    }
}
