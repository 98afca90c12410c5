using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace NetDsl.Generators.Shared;

/// <summary>Plan: pure shape inference, fusion into blocks, the θ layout and the memory per sample.</summary>
internal static class NetworkPlanner
{
    /// <summary>Names the generated class takes for itself; a layer may not use them.</summary>
    public static readonly IReadOnlyCollection<string> ReservedNames = new HashSet<string>
    {
        "InputSize", "OutputSize", "ParameterCount", "ActivationValuesPerSample", "TrainingLoss", "Summary", "SummaryTable",
        "PlanMemory", "Parameters", "Gradients", "DropoutEnabled", "Initialize", "Predict", "PredictBatch", "ComputeGradients",
        "ComputeLoss", "TrainStep", "EvaluateLoss", "FindFirstNonFiniteLayer", "ActivationBuffers",
    };

    public static NetworkPlan Plan(NetworkSpec spec)
    {
        var problems = new List<Problem>(spec.Problems);
        var layers = new List<LayerPlan>();
        var blocks = new List<BlockPlan>();
        var tensors = new List<TensorPlan>();
        int[]? inputShape = null;
        int[] shape = [];
        int offset = 0;

        foreach (var layer in spec.Layers)
        {
            if (ReservedNames.Contains(layer.Name) || ReservedSuffix(layer.Name, spec.Layers) is not null)
                problems.Add(Problem.Create(NetworkDiagnostics.ReservedName, layer.Location, layer.Name,
                    ReservedSuffix(layer.Name, spec.Layers) ?? "a member of every network"));

            if (layer.Kind == LayerKind.Input)
            {
                if (inputShape is not null || layers.Count > 0)
                    problems.Add(Problem.Create(NetworkDiagnostics.MisplacedInput, layer.Location, layer.Name));
                else
                {
                    inputShape = layer.Sizes.ToArray();
                    if (inputShape.Length == 0)
                        problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the input shape", "no dimensions"));
                    for (int d = 0; d < inputShape.Length; d++)
                        if (inputShape[d] <= 0)
                            problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'",
                                $"input dimension {d}", inputShape[d]));
                    shape = inputShape;
                }
                layers.Add(Layer(layer, shape, 0));
                continue;
            }
            if (inputShape is null)
            {
                layers.Add(Layer(layer, shape, 0));
                continue; // reported once below as a missing input
            }

            var current = blocks.Count > 0 ? blocks[blocks.Count - 1] : null;
            int width = shape.Length == 1 ? shape[0] : Product(shape);
            switch (layer.Kind)
            {
                case LayerKind.Flatten:
                    shape = [Product(shape)];
                    layers.Add(Layer(layer, shape, 0));
                    break;

                case LayerKind.Dense:
                    int units = layer.Sizes.Count > 0 ? layer.Sizes[0] : 0;
                    if (units <= 0)
                        problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the unit count", units));
                    if (shape.Length != 1)
                        problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Dense", ShapeText(shape),
                            "Dense takes one dimension per sample; add a [Flatten] layer before it"));
                    units = System.Math.Max(units, 1);
                    CheckInitArguments(layer, problems);
                    blocks.Add(new BlockPlan(blocks.Count, layer.Name, true, width, units, ActivationKind.None, 0, null, 0, null,
                        layer.Init, layer.InitArguments, offset, offset + width * units, blocks.Count - 1));
                    tensors.Add(new TensorPlan(layer.Name + ".weight", layer.Name, layer.Name + "Weight", offset, new[] { units, width }.ToEquatableArray(), true));
                    tensors.Add(new TensorPlan(layer.Name + ".bias", layer.Name, layer.Name + "Bias", offset + width * units, new[] { units }.ToEquatableArray(), false));
                    offset += width * units + units;
                    shape = [units];
                    layers.Add(Layer(layer, shape, width * units + units));
                    break;

                case LayerKind.Linear:
                    layers.Add(Layer(layer, shape, 0));
                    break;

                case LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.ELU or LayerKind.SELU or LayerKind.Sigmoid or LayerKind.Tanh or LayerKind.Softmax:
                    var activation = (ActivationKind)System.Enum.Parse(typeof(ActivationKind), layer.Kind.ToString());
                    if (layer.Kind is LayerKind.LeakyReLU or LayerKind.ELU && !(layer.Parameter >= 0))
                        problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                            layer.Kind == LayerKind.ELU ? "α" : "the negative slope", Number(layer.Parameter), "[0, ∞)"));
                    if (current is not null && current.Activation == ActivationKind.None && !current.HasDropout && current.Outputs == width)
                        blocks[blocks.Count - 1] = current with { Activation = activation, ActivationParameter = layer.Parameter, ActivationLayer = layer.Name };
                    else
                        blocks.Add(Elementwise(blocks.Count, layer.Name, width) with { Activation = activation, ActivationParameter = layer.Parameter, ActivationLayer = layer.Name });
                    layers.Add(Layer(layer, shape, 0));
                    break;

                case LayerKind.Dropout:
                    if (!(layer.Parameter >= 0 && layer.Parameter < 1))
                        problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                            "the dropout rate", Number(layer.Parameter), "[0, 1)"));
                    if (current is not null && !current.HasDropout && current.Outputs == width)
                        blocks[blocks.Count - 1] = current with { DropoutRate = layer.Parameter, DropoutLayer = layer.Name };
                    else
                        blocks.Add(Elementwise(blocks.Count, layer.Name, width) with { DropoutRate = layer.Parameter, DropoutLayer = layer.Name });
                    layers.Add(Layer(layer, shape, 0));
                    break;
            }
        }

        if (inputShape is null)
            problems.Add(Problem.Create(NetworkDiagnostics.NoInput, spec.Location, spec.TypeName));
        else if (!blocks.Any(b => b.IsDense))
            problems.Add(Problem.Create(NetworkDiagnostics.NothingToTrain, spec.Location, spec.TypeName));

        CheckLoss(spec, blocks, problems);

        var resolved = blocks.Select(b => b.IsDense ? b with { Init = ResolveInit(b) } : b).ToList();
        return new NetworkPlan(
            spec,
            layers.ToEquatableArray(),
            resolved.ToEquatableArray(),
            tensors.ToEquatableArray(),
            (inputShape ?? []).ToEquatableArray(),
            resolved.Count > 0 ? resolved[resolved.Count - 1].Outputs : 0,
            offset,
            resolved.Sum(ValuesPerSample),
            problems.ToEquatableArray());
    }

    static void CheckLoss(NetworkSpec spec, List<BlockPlan> blocks, List<Problem> problems)
    {
        if (spec.Loss != LossKind.MeanSquaredError && !(spec.LabelSmoothing >= 0 && spec.LabelSmoothing < 1))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, spec.Location, $"Network '{spec.TypeName}'",
                "the label smoothing", Number(spec.LabelSmoothing), "[0, 1)"));
        if (blocks.Count == 0) return;
        var last = blocks[blocks.Count - 1];
        if (spec.Loss == LossKind.SoftmaxCrossEntropy && last.Activation == ActivationKind.Softmax)
        {
            var softmax = spec.Layers.First(l => l.Name == last.ActivationLayer);
            problems.Add(Problem.Create(NetworkDiagnostics.SoftmaxTwice, softmax.Location, softmax.Name));
        }
        // The fused gradient (ŷ − y) is taken with respect to the sigmoid's input, so the sigmoid must be the last step.
        if (spec.Loss == LossKind.BinaryCrossEntropy && (last.Activation != ActivationKind.Sigmoid || last.HasDropout))
        {
            var lastLayer = spec.Layers.LastOrDefault();
            problems.Add(Problem.Create(NetworkDiagnostics.BinaryCrossEntropyNeedsSigmoid, lastLayer?.Location ?? spec.Location,
                spec.TypeName, lastLayer is null ? "nothing" : $"'{lastLayer.Name}' ({lastLayer.Kind})"));
        }
    }

    static void CheckInitArguments(LayerSpec layer, List<Problem> problems)
    {
        var arguments = layer.InitArguments;
        if (layer.Init == InitKind.Uniform && !(arguments[0] < arguments[1]))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                "the uniform bounds", $"({Number(arguments[0])}, {Number(arguments[1])})", "low < high"));
        if (layer.Init == InitKind.Normal && !(arguments[1] > 0))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                "the standard deviation", Number(arguments[1]), "(0, ∞)"));
    }

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Auto picks He before the ReLU family, LeCun before SELU and Xavier/Glorot otherwise (the pairing each
    /// paper derived).</summary>
    static InitKind ResolveInit(BlockPlan block) =>
        block.Init != InitKind.Auto ? block.Init
        : block.Activation is ActivationKind.ReLU or ActivationKind.LeakyReLU or ActivationKind.ELU ? InitKind.He
        : block.Activation == ActivationKind.SELU ? InitKind.LeCun
        : InitKind.Xavier;

    /// <summary>Output, gradient (Dense only), pre-dropout activation and dropout mask, per sample.</summary>
    static int ValuesPerSample(BlockPlan block) =>
        block.Outputs * (1 + (block.IsDense ? 1 : 0) + (block.KeepsActivation ? 1 : 0) + (block.HasDropout ? 1 : 0));

    static BlockPlan Elementwise(int index, string name, int width) =>
        new(index, name, false, width, width, ActivationKind.None, 0, null, 0, null, InitKind.Auto, EquatableArray<double>.Empty, 0, 0, index - 1);

    static LayerPlan Layer(LayerSpec layer, int[] shape, int parameters) =>
        new(layer.Name, layer.Kind, shape.ToEquatableArray(), parameters, layer.Modifiers, layer.Implementable);

    static int Product(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    static string ShapeText(int[] shape) => "(" + string.Join(", ", shape) + ")";

    /// <summary>Generated constants are named after layers (<c>{Layer}Size</c>, <c>{Layer}WeightOffset</c>, ...): a layer
    /// may not be named like another layer's constant.</summary>
    static string? ReservedSuffix(string name, EquatableArray<LayerSpec> layers)
    {
        string[] suffixes = ["Size", "Inputs", "Units", "WeightOffset", "WeightLength", "BiasOffset", "BiasLength"];
        foreach (var suffix in suffixes)
            if (ReservedNames.Contains(name + suffix)) return $"its constant {name + suffix} would collide with the network's own";
        foreach (var other in layers)
            foreach (var suffix in suffixes)
                if (name == other.Name + suffix) return $"the constant {name} of layer '{other.Name}'";
        return null;
    }
}
