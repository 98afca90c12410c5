using System.Collections.Generic;
using System.Globalization;
using System.Linq;

using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

/// <summary>Plan: pure shape inference, fusion into blocks, the θ layout and the memory per sample.</summary>
internal static partial class NetworkPlanner
{
    public static NetworkPlan Plan(NetworkSpec spec)
    {
        var problems = new List<Problem>(spec.Problems);
        var walk = new LayerWalk(spec, problems);
        foreach (var layer in spec.Layers) walk.Add(layer);
        var (layers, blocks, inputShape) = (walk.Layers, walk.Blocks, walk.InputShape);
        // One root cause, one error: once shapes stop fitting, the stand-in shape planning goes on with makes later layers
        // misfit too, so only the first layer where they stop is reported.
        var firstMismatch = problems.FirstOrDefault(p => p.Id == NetworkDiagnostics.ShapeMismatch.Id);
        problems.RemoveAll(p => p.Id == NetworkDiagnostics.ShapeMismatch.Id && !ReferenceEquals(p, firstMismatch));

        if (inputShape is null)
            problems.Add(Problem.Create(NetworkDiagnostics.NoInput, spec.Location, spec.TypeName));
        else if (!blocks.Any(b => b.HasParameters))
            problems.Add(Problem.Create(NetworkDiagnostics.NothingToTrain, spec.Location, spec.TypeName));

        CheckLoss(spec, blocks, problems);

        if (TooLarge(spec, layers, blocks) is { } tooLarge)
        {
            problems.Add(tooLarge);
            return new NetworkPlan(spec, layers.ToEquatableArray(), EquatableArray<BlockPlan>.Empty, EquatableArray<TensorPlan>.Empty,
                (inputShape ?? []).ToEquatableArray(), 0, 0, 0, 0, 0, problems.Distinct().ToEquatableArray());
        }

        // θ: per block with parameters, weight (or γ) then bias (or β), in declaration order; running statistics apart.
        var tensors = new List<TensorPlan>();
        int offset = 0, statistics = 0, folded = 0, transformed = 0;
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (!block.HasParameters) continue;
            block = block with { WeightOffset = offset, BiasOffset = offset + block.WeightLength, StatisticsOffset = statistics };
            if (block.IsProduct) block = block with { Init = ResolveInit(block, i + 1 < blocks.Count ? blocks[i + 1] : null) };
            int[] weightShape = block.Kind switch
            {
                BlockKind.Dense => [block.Outputs, block.Inputs],
                BlockKind.Embedding => [block.Vocabulary, block.Channels],
                BlockKind.Add => [block.Channels, block.Geometry!.Channels, 1, 1],
                BlockKind.Conv when block.IsOneDimensional => [block.Channels, block.Geometry!.Channels, block.Geometry.KernelWidth],
                BlockKind.Conv => [block.Channels, block.Geometry!.Channels, block.Geometry.KernelHeight, block.Geometry.KernelWidth],
                _ => [block.Channels],
            };
            tensors.Add(new TensorPlan(block.Name + ".weight", block.Name, block.Name + "Weight", offset, weightShape.ToEquatableArray(), block.IsProduct || block.IsProjected));
            if (block.BiasLength > 0)
                tensors.Add(new TensorPlan(block.Name + ".bias", block.Name, block.Name + "Bias", block.BiasOffset, new[] { block.BiasLength }.ToEquatableArray(), false));
            offset += block.WeightLength + block.BiasLength;
            if (block.Kind == BlockKind.BatchNorm) statistics += 2 * block.Channels;
            if (block.IsFolded)
            {
                block = block with { FoldOffset = folded };
                folded += block.WeightLength + block.Channels;
            }
            if (block.TakesWinograd)
            {
                block = block with { WinogradOffset = transformed };
                transformed += block.Geometry!.WinogradWeightsLength(block.Channels);
            }
            blocks[i] = block;
        }
        int dropouts = 0;
        for (int i = 0; i < blocks.Count; i++)
            if (blocks[i].HasDropout) blocks[i] = blocks[i] with { DropoutIndex = dropouts++ };
        if (!problems.Any(p => p.IsError)) Advise(spec, blocks, offset, (int)blocks.Sum(ValuesPerSample), problems);
        var layerPlans = layers.Select(l => l with
        {
            ParameterCount = blocks.Where(b => b.Name == l.Name && b.HasParameters).Sum(b => b.WeightLength + b.BiasLength),
        });

        return new NetworkPlan(
            spec,
            layerPlans.ToEquatableArray(),
            blocks.ToEquatableArray(),
            tensors.ToEquatableArray(),
            (inputShape ?? []).ToEquatableArray(),
            blocks.Count > 0 ? blocks[blocks.Count - 1].Outputs : 0,
            offset,
            statistics,
            folded,
            (int)blocks.Sum(ValuesPerSample),
            problems.Distinct().ToEquatableArray()); // a window that fits neither way is one problem, not two
    }

    /// <summary>The activation a product's output feeds: its own, or through a BatchNorm right after it, that one's.</summary>
    static ActivationKind ActivationFed(BlockPlan block, BlockPlan? next) =>
        block.Activation == ActivationKind.None && next?.Kind == BlockKind.BatchNorm ? next.Activation : block.Activation;

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    static string Bound(double value) => double.IsInfinity(value) ? (value < 0 ? "−∞" : "∞") : Number(value);

    /// <summary>Auto picks He before the ReLU family, LeCun before SELU and Xavier/Glorot otherwise (the pairing each
    /// paper derived).</summary>
    static Init ResolveInit(BlockPlan block, BlockPlan? next)
    {
        if (block.Init != Init.Auto) return block.Init;
        var activation = ActivationFed(block, next);
        return activation is ActivationKind.ReLU or ActivationKind.LeakyReLU or ActivationKind.ELU ? Init.He
            : activation == ActivationKind.SELU ? Init.LeCun
            : Init.Xavier;
    }

    /// <summary>Output, gradient (core blocks), pre-dropout activation, dropout mask and the max-pool winners, per
    /// sample. A convolution's patch matrix is built per sample in one buffer per core and BatchNorm keeps two values
    /// per channel: neither grows with the batch.</summary>
    static long ValuesPerSample(BlockPlan block) =>
        (long)block.Outputs * (1 + (block.IsCore ? 1 : 0) + (block.KeepsActivation ? 1 : 0) + (block.HasDropout ? 1 : 0)
            + (block.Kind == BlockKind.MaxPool ? 1 : 0));

    static BlockPlan Block(int index, string name, BlockKind kind, int inputs, int outputs, int channels) =>
        new() { Index = index, Name = name, Kind = kind, Inputs = inputs, Outputs = outputs, Channels = channels, InputBlock = index - 1 };

    static LayerPlan Layer(LayerSpec layer, int[] shape) =>
        new(layer.Name, layer.Kind, shape.ToEquatableArray(), 0, layer.Modifiers, layer.Implementable);



    /// <summary>Generated code counts every buffer and θ in int: the first count that does not fit, measured in long
    /// before the layout sums them.</summary>
    static Problem? TooLarge(NetworkSpec spec, List<LayerPlan> layers, List<BlockPlan> blocks)
    {
        const long Limit = int.MaxValue;
        LocationInfo? At(string layer) => spec.Layers.FirstOrDefault(l => l.Name == layer)?.Location ?? spec.Location;
        Problem Report(string layer, string what, long values) => Problem.Create(NetworkDiagnostics.NetworkTooLarge, At(layer),
            $"Network '{spec.TypeName}'", what, values.ToString("N0", CultureInfo.InvariantCulture));
        static long Count(IEnumerable<int> shape)
        {
            long count = 1;
            foreach (int d in shape)
            {
                long factor = System.Math.Max(d, 1);
                if (count > long.MaxValue / factor) return long.MaxValue;
                count *= factor;
            }
            return count;
        }
        foreach (var layer in layers)
            if (Count(layer.OutputShape) is var values && values > Limit)
                return Report(layer.Name, $"the output of '{layer.Name}', shape {ShapeText(layer.OutputShape.ToArray())},", values);
        long theta = 0, perSample = 0;
        foreach (var block in blocks)
        {
            long weights = block.Kind switch
            {
                BlockKind.Dense => (long)block.Outputs * block.Inputs,
                BlockKind.Conv => (long)block.Channels * block.Geometry!.Channels * block.Geometry.KernelHeight * block.Geometry.KernelWidth,
                BlockKind.Embedding => (long)block.Vocabulary * block.Channels,
                _ => block.HasParameters ? block.Channels : 0,
            };
            if (weights > Limit) return Report(block.Name, $"{block.Name}.weight", weights);
            theta += weights + (block.HasParameters ? block.Channels : 0);
            perSample += ValuesPerSample(block);
        }
        if (theta > Limit) return Report(spec.Layers.FirstOrDefault()?.Name ?? "", "θ", theta);
        if (perSample > Limit) return Report(spec.Layers.FirstOrDefault()?.Name ?? "", "the values a training pass caches per sample", perSample);
        return null;
    }

    static string ShapeText(int[] shape) => "(" + string.Join(", ", shape) + ")";
}
