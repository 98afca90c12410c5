using System.Collections.Generic;
using System.Globalization;
using System.Linq;

using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

/// <summary>Plan: pure shape inference, fusion into blocks, the θ layout and the memory per sample.</summary>
internal static class NetworkPlanner
{
    public static NetworkPlan Plan(NetworkSpec spec)
    {
        var problems = new List<Problem>(spec.Problems);
        var layers = new List<LayerPlan>();
        var blocks = new List<BlockPlan>();
        int[]? inputShape = null;
        int[] shape = [];
        // A layer a skip connection names must keep its own output: nothing fuses onto the block it ends.
        var referenced = new HashSet<string>(spec.Layers.Where(l => l.Kind == LayerKind.Add).Select(l => l.Source ?? ""));
        var outputs = new Dictionary<string, (int Block, int[] Shape)>();
        bool sealedBlock = false;

        foreach (var layer in spec.Layers)
        {
            if (layer.Kind == LayerKind.Input)
            {
                if (inputShape is not null || layers.Count > 0)
                    problems.Add(Problem.Create(NetworkDiagnostics.MisplacedInput, layer.Location, layer.Name));
                else
                {
                    inputShape = layer.Shape.ToArray();
                    if (inputShape.Length == 0)
                        problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the input shape", "no dimensions"));
                    for (int d = 0; d < inputShape.Length; d++)
                        if (inputShape[d] <= 0)
                            problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'",
                                $"input dimension {d}", inputShape[d]));
                    // Planning goes on with a shape that stands in for the wrong one, so later layers are still checked.
                    if (inputShape.Length == 0) inputShape = [1];
                    if (inputShape.Any(d => d <= 0)) inputShape = inputShape.Select(d => System.Math.Max(d, 1)).ToArray();
                    shape = inputShape;
                }
                layers.Add(Layer(layer, shape));
                outputs[layer.Name] = (-1, shape);
                continue;
            }
            if (inputShape is null)
            {
                layers.Add(Layer(layer, shape));
                continue; // reported once below as a missing input
            }

            // A layer whose attribute Parse could not read (no matching constructor while the user types) has no sizes.
            if (!layer.ArgumentsRead)
            {
                layers.Add(Layer(layer, shape));
                continue; // Parse reported the attribute it could not read
            }

            var current = blocks.Count > 0 && !sealedBlock ? blocks[blocks.Count - 1] : null;
            int width = Product(shape);
            switch (layer.Kind)
            {
                case LayerKind.Flatten or LayerKind.Linear:
                    if (layer.Kind == LayerKind.Flatten) shape = [width];
                    break;

                case LayerKind.Dense:
                    int units = layer.Units;
                    if (units <= 0)
                        problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the unit count", units));
                    if (shape.Length != 1)
                        problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Dense", ShapeText(shape),
                            "Dense takes one dimension per sample; add a [Flatten] layer before it"));
                    units = System.Math.Max(units, 1);
                    CheckInitArguments(layer, problems);
                    blocks.Add(Block(blocks.Count, layer.Name, BlockKind.Dense, width, units, units)
                        with { Init = layer.Init, InitArguments = layer.InitArguments, HasBias = layer.Bias });
                    shape = [units];
                    break;

                case LayerKind.Conv2D:
                    var convolution = ConvolutionGeometry(layer, shape, problems);
                    int filters = System.Math.Max(layer.Filters, 1);
                    CheckInitArguments(layer, problems);
                    blocks.Add(Block(blocks.Count, layer.Name, BlockKind.Conv, width, filters * convolution.OutputPixels, filters)
                        with { Init = layer.Init, InitArguments = layer.InitArguments, Geometry = convolution, HasBias = layer.Bias });
                    shape = [filters, convolution.OutputHeight, convolution.OutputWidth];
                    break;

                case LayerKind.MaxPool or LayerKind.AvgPool or LayerKind.GlobalAveragePool:
                    var pooling = PoolingGeometry(layer, shape, problems);
                    blocks.Add(Block(blocks.Count, layer.Name, layer.Kind == LayerKind.MaxPool ? BlockKind.MaxPool : BlockKind.AvgPool,
                        width, pooling.Channels * pooling.OutputPixels, pooling.Channels) with { Geometry = pooling });
                    shape = layer.Kind == LayerKind.GlobalAveragePool ? [pooling.Channels] : [pooling.Channels, pooling.OutputHeight, pooling.OutputWidth];
                    break;

                case LayerKind.BatchNorm:
                    if (!(layer.Parameter >= 0 && layer.Parameter < 1))
                        problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                            "the momentum", Number(layer.Parameter), "[0, 1)"));
                    Require(layer.Epsilon > 0 && layer.Epsilon <= float.MaxValue, layer, "ε", layer.Epsilon, $"(0, {FloatMaximum}]", problems);
                    // β replaces the bias of a product right before it.
                    if (current is { IsProduct: true, Activation: ActivationKind.None, HasDropout: false })
                        blocks[blocks.Count - 1] = current with { HasBias = false, IsFolded = true };
                    blocks.Add(Block(blocks.Count, layer.Name, BlockKind.BatchNorm, width, width, shape[0])
                        with { Momentum = layer.Parameter, Epsilon = layer.Epsilon });
                    break;

                case LayerKind.Add:
                    int source = -1;
                    if (layer.Source is null || !outputs.TryGetValue(layer.Source, out var named))
                        problems.Add(Problem.Create(NetworkDiagnostics.UnknownSource, layer.Location, layer.Name, layer.Source ?? ""));
                    else if (!named.Shape.SequenceEqual(shape))
                        problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Add", ShapeText(shape),
                            $"it adds '{layer.Source}' of shape {ShapeText(named.Shape)}; both summands need the same shape"));
                    else source = named.Block;
                    blocks.Add(Block(blocks.Count, layer.Name, BlockKind.Add, width, width, 1) with { SourceBlock = source });
                    break;

                case LayerKind.PReLU:
                    Require(FitsFloat(layer.Parameter), layer, "the initial slope", layer.Parameter, $"[−{FloatMaximum}, {FloatMaximum}]", problems);
                    // Its slope gradient needs the pre-activation, so it is a step of its own reading the previous output.
                    // The initial slope is an initializer argument: an activation fused after it keeps its own parameter.
                    blocks.Add(Block(blocks.Count, layer.Name, BlockKind.PReLU, width, width, shape[0])
                        with { InitArguments = new[] { layer.Parameter }.ToEquatableArray() });
                    break;

                case LayerKind.Maxout:
                    int pieces = layer.Pieces;
                    if (pieces <= 0)
                        problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the piece count", pieces));
                    else if (shape.Length != 1 || width % pieces != 0)
                        problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Maxout", ShapeText(shape),
                            $"Maxout({pieces}) takes one dimension per sample whose size is a multiple of {pieces}"));
                    pieces = System.Math.Max(pieces, 1);
                    // The max over groups of k is a 1×k max pool with stride k over a one-row map.
                    var groups = new ConvGeometry(1, 1, width, 1, pieces, pieces, 0, 0, 1, System.Math.Max(width / pieces, 1));
                    blocks.Add(Block(blocks.Count, layer.Name, BlockKind.MaxPool, width, groups.OutputWidth, 1) with { Geometry = groups });
                    shape = [groups.OutputWidth];
                    break;

                case LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.ELU or LayerKind.SELU or LayerKind.Sigmoid or LayerKind.Tanh or LayerKind.Softmax:
                    var activation = (ActivationKind)System.Enum.Parse(typeof(ActivationKind), layer.Kind.ToString());
                    if (layer.Kind is LayerKind.LeakyReLU or LayerKind.ELU)
                        Require(layer.Parameter >= 0 && layer.Parameter <= float.MaxValue, layer, layer.Kind == LayerKind.ELU ? "α" : "the negative slope",
                            layer.Parameter, $"[0, {FloatMaximum}]", problems);
                    if (layer.Kind == LayerKind.Softmax && shape.Length != 1)
                        problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Softmax", ShapeText(shape),
                            "Softmax normalizes one dimension per sample; add a [Flatten] layer before it"));
                    // PReLU is an activation itself: one after it is a step of its own.
                    if (current is not null && current.Kind != BlockKind.PReLU && current.Activation == ActivationKind.None && !current.HasDropout && current.Outputs == width)
                        blocks[blocks.Count - 1] = current with { Activation = activation, ActivationParameter = layer.Parameter, ActivationLayer = layer.Name };
                    else
                        blocks.Add(Block(blocks.Count, layer.Name, BlockKind.Elementwise, width, width, 1)
                            with { Activation = activation, ActivationParameter = layer.Parameter, ActivationLayer = layer.Name });
                    break;

                case LayerKind.Dropout:
                    if (!(layer.Parameter >= 0 && layer.Parameter < 1))
                        problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                            "the dropout rate", Number(layer.Parameter), "[0, 1)"));
                    if (current is not null && !current.HasDropout && current.Outputs == width)
                        blocks[blocks.Count - 1] = current with { DropoutRate = layer.Parameter, DropoutLayer = layer.Name };
                    else
                        blocks.Add(Block(blocks.Count, layer.Name, BlockKind.Elementwise, width, width, 1) with { DropoutRate = layer.Parameter, DropoutLayer = layer.Name });
                    break;
            }
            layers.Add(Layer(layer, shape));
            outputs[layer.Name] = (blocks.Count - 1, shape);
            sealedBlock = referenced.Contains(layer.Name);
        }

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
        int offset = 0, statistics = 0, folded = 0;
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (!block.HasParameters) continue;
            block = block with { WeightOffset = offset, BiasOffset = offset + block.WeightLength, StatisticsOffset = statistics };
            if (block.IsProduct) block = block with { Init = ResolveInit(block, i + 1 < blocks.Count ? blocks[i + 1] : null) };
            int[] weightShape = block.Kind switch
            {
                BlockKind.Dense => [block.Outputs, block.Inputs],
                BlockKind.Conv => [block.Channels, block.Geometry!.Channels, block.Geometry.KernelHeight, block.Geometry.KernelWidth],
                _ => [block.Channels],
            };
            tensors.Add(new TensorPlan(block.Name + ".weight", block.Name, block.Name + "Weight", offset, weightShape.ToEquatableArray(), block.IsProduct));
            if (block.BiasLength > 0)
                tensors.Add(new TensorPlan(block.Name + ".bias", block.Name, block.Name + "Bias", block.BiasOffset, new[] { block.BiasLength }.ToEquatableArray(), false));
            offset += block.WeightLength + block.BiasLength;
            if (block.Kind == BlockKind.BatchNorm) statistics += 2 * block.Channels;
            if (block.IsFolded)
            {
                block = block with { FoldOffset = folded };
                folded += block.WeightLength + block.Channels;
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

    /// <summary>Convolution output size (H + padding − K) / stride + 1 per side; a fractional or empty output is an error.</summary>
    static ConvGeometry ConvolutionGeometry(LayerSpec layer, int[] shape, List<Problem> problems)
    {
        var window = layer.Window!;
        int filters = layer.Filters, kernel = window.Size, stride = window.Stride, paddingSize = window.PaddingSize;
        var padding = window.Padding;
        foreach (var (name, value) in new[] { ("the filter count", filters), ("the kernel size", kernel), ("the stride", stride) })
            if (value <= 0)
                problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", name, value));
        if (padding == Padding.Explicit && paddingSize < 0)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'", "the padding", paddingSize, "[0, ∞)"));
        kernel = System.Math.Max(kernel, 1);
        stride = System.Math.Max(stride, 1);
        if (shape.Length != 3)
        {
            problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Conv2D", ShapeText(shape),
                "Conv2D takes (channels, height, width) per sample"));
            return new ConvGeometry(1, kernel, kernel, kernel, kernel, stride, 0, 0, 1, 1);
        }
        int channels = shape[0], height = shape[1], width = shape[2];
        int OutputSize(int size, out int before)
        {
            if (padding == Padding.Same)
            {
                int output = (size + stride - 1) / stride;
                int total = System.Math.Max((output - 1) * stride + kernel - size, 0);
                before = total / 2;
                return output;
            }
            int pad = padding == Padding.Explicit ? System.Math.Max(paddingSize, 0) : 0;
            before = pad;
            int span = size + 2 * pad - kernel;
            if (span < 0 || span % stride != 0)
            {
                problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Conv2D", ShapeText(shape),
                    $"a {kernel}×{kernel} kernel at stride {stride} with padding {pad} gives an output size of ({size} + {2 * pad} − {kernel}) / {stride} + 1, which is {(span < 0 ? "empty" : "fractional")}"));
                return System.Math.Max(span / stride + 1, 1);
            }
            return span / stride + 1;
        }
        int outputHeight = OutputSize(height, out int top);
        int outputWidth = OutputSize(width, out int left);
        return new ConvGeometry(channels, height, width, kernel, kernel, stride, top, left, outputHeight, outputWidth);
    }

    static ConvGeometry PoolingGeometry(LayerSpec layer, int[] shape, List<Problem> problems)
    {
        string kind = layer.Kind.ToString();
        if (shape.Length != 3)
        {
            problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, kind, ShapeText(shape),
                $"{kind} takes (channels, height, width) per sample"));
            return new ConvGeometry(1, 1, 1, 1, 1, 1, 0, 0, 1, 1);
        }
        int channels = shape[0], height = shape[1], width = shape[2];
        if (layer.Kind == LayerKind.GlobalAveragePool) return new ConvGeometry(channels, height, width, height, width, 1, 0, 0, 1, 1);
        var window = layer.Window!;
        int size = window.Size, stride = window.Stride == 0 ? size : window.Stride;
        var rounding = window.Rounding;
        if (!System.Enum.IsDefined(typeof(RoundingMode), rounding))
        {
            problems.Add(Problem.Create(NetworkDiagnostics.UnknownOption, layer.Location, $"(RoundingMode){(int)rounding}", "rounding mode",
                string.Join(", ", System.Enum.GetNames(typeof(RoundingMode)).Select(n => "RoundingMode." + n))));
            rounding = RoundingMode.Floor;
        }
        if (size <= 0 || stride <= 0)
        {
            problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'",
                size <= 0 ? "the window size" : "the stride", size <= 0 ? size : stride));
            return new ConvGeometry(channels, height, width, 1, 1, 1, 0, 0, height, width);
        }
        int Output(int extent)
        {
            int span = extent - size;
            if (span < 0)
            {
                problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, kind, ShapeText(shape),
                    $"a {size}×{size} window does not fit in {extent}"));
                return 1;
            }
            // Ceil: a window that would start past the input is dropped, as in PyTorch.
            int windows = rounding == RoundingMode.Ceil ? (span + stride - 1) / stride + 1 : span / stride + 1;
            return rounding == RoundingMode.Ceil && (windows - 1) * stride >= extent ? windows - 1 : windows;
        }
        return new ConvGeometry(channels, height, width, size, size, stride, 0, 0, Output(height), Output(width));
    }

    /// <summary>The batch size the footprint diagnostic quotes (Keras's default).</summary>
    const int DefaultBatchSize = 32;

    /// <summary>Design advice on a network that is valid: warnings and the footprint.</summary>
    static void Advise(NetworkSpec spec, List<BlockPlan> blocks, int parameters, int valuesPerSample, List<Problem> problems)
    {
        LayerSpec LayerNamed(string name) => spec.Layers.First(l => l.Name == name);
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (block.IsProduct)
            {
                var layer = LayerNamed(block.Name);
                var activation = ActivationFed(block, i + 1 < blocks.Count ? blocks[i + 1] : null);
                bool reluFamily = activation is ActivationKind.ReLU or ActivationKind.LeakyReLU or ActivationKind.ELU;
                bool saturating = activation is ActivationKind.Sigmoid or ActivationKind.Tanh;
                if (layer.Init is Init.Xavier or Init.XavierUniform or Init.LeCun or Init.LeCunUniform && reluFamily)
                {
                    string fix = layer.Init.ToString().EndsWith("Uniform") ? "HeUniform" : "He";
                    problems.Add(Problem.Create(NetworkDiagnostics.InitializerMismatch, layer.Location, layer.Name, layer.Init, activation,
                        "He/Kaiming initialization keeps the variance of ReLU-family outputs", fix) with { Fix = fix });
                }
                if (layer.Init is Init.He or Init.HeUniform && saturating)
                {
                    string fix = layer.Init == Init.HeUniform ? "XavierUniform" : "Xavier";
                    problems.Add(Problem.Create(NetworkDiagnostics.InitializerMismatch, layer.Location, layer.Name, layer.Init, activation,
                        "Xavier/Glorot initialization keeps saturating units in their linear range", fix) with { Fix = fix });
                }
                if (layer.Init is Init.Zeros or Init.Ones or Init.Constant)
                    problems.Add(Problem.Create(NetworkDiagnostics.ConstantInitializer, layer.Location, layer.Name, layer.Init, reluFamily ? "He" : "Xavier")
                        with { Fix = reluFamily ? "He" : "Xavier" });

                // Walk forward over steps that stay linear (dropout, average pooling, BatchNorm without activation).
                if (block.Activation == ActivationKind.None)
                    for (int j = i + 1; j < blocks.Count; j++)
                    {
                        var later = blocks[j];
                        if (later.IsProduct)
                        {
                            problems.Add(Problem.Create(NetworkDiagnostics.LinearCollapse, LayerNamed(later.Name).Location, later.Name, block.Name)
                                with { Fix = block.Name });
                            break;
                        }
                        bool linear = later.Activation == ActivationKind.None && later.Kind is BlockKind.Elementwise or BlockKind.AvgPool or BlockKind.BatchNorm;
                        if (!linear) break;
                    }
            }
            if (block.HasDropout && block.Kind != BlockKind.BatchNorm && i + 1 < blocks.Count && blocks[i + 1].Kind == BlockKind.BatchNorm)
                problems.Add(Problem.Create(NetworkDiagnostics.DropoutBeforeBatchNorm, LayerNamed(block.DropoutLayer!).Location, block.DropoutLayer!, blocks[i + 1].Name));
        }
        // Declaration-order rules read the layers themselves.
        var declared = spec.Layers.Where(l => l.Kind != LayerKind.Input).ToList();
        bool IsActivation(LayerSpec l) => l.Kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.PReLU or LayerKind.ELU or LayerKind.SELU
            or LayerKind.Sigmoid or LayerKind.Tanh or LayerKind.Softmax or LayerKind.Maxout;
        for (int i = 1; i < declared.Count; i++)
        {
            var (before, layer) = (declared[i - 1], declared[i]);
            bool last = i == declared.Count - 1;
            if (IsActivation(before) && IsActivation(layer) && !(last && layer.Kind == LayerKind.Softmax))
                problems.Add(Problem.Create(NetworkDiagnostics.ActivationsBackToBack, layer.Location, layer.Name, layer.Kind, before.Name, before.Kind));
            if (last && layer.Kind == LayerKind.Softmax && IsActivation(before))
                problems.Add(Problem.Create(NetworkDiagnostics.ActivationBeforeSoftmax, before.Location, before.Name, before.Kind, layer.Name));
            if (before.Kind == LayerKind.Dropout && layer.Kind is LayerKind.MaxPool or LayerKind.AvgPool or LayerKind.GlobalAveragePool)
                problems.Add(Problem.Create(NetworkDiagnostics.DropoutPlacement, before.Location, before.Name,
                    $"dropout right before {layer.Kind} '{layer.Name}' is partly undone by the pooling (a dropped value is often not the window's maximum); drop after the pooling"));
        }
        foreach (var dropout in declared.Where(l => l.Kind == LayerKind.Dropout && l.Parameter > 0.5))
            problems.Add(Problem.Create(NetworkDiagnostics.DropoutPlacement, dropout.Location, dropout.Name,
                $"a dropout rate of {Number(dropout.Parameter)} drops most of the values; rates above 0.5 rarely help"));
        if (spec.Loss == Loss.SoftmaxCrossEntropy && declared.Count > 0 && declared[declared.Count - 1].Kind == LayerKind.Sigmoid)
            problems.Add(Problem.Create(NetworkDiagnostics.SigmoidWithSoftmaxCrossEntropy, declared[declared.Count - 1].Location, declared[declared.Count - 1].Name));
        var squashing = declared.Where(l => l.Kind is LayerKind.Sigmoid or LayerKind.Tanh).ToList();
        if (squashing.Count >= 4 && !declared.Any(l => l.Kind is LayerKind.BatchNorm or LayerKind.Add))
            problems.Add(Problem.Create(NetworkDiagnostics.SaturatingStack, spec.Location, spec.TypeName, squashing.Count,
                string.Join(", ", squashing.Select(l => l.Name))));

        if (blocks.Count > 0 && blocks[blocks.Count - 1].HasDropout)
            problems.Add(Problem.Create(NetworkDiagnostics.DropoutAtOutput, LayerNamed(blocks[blocks.Count - 1].DropoutLayer!).Location, blocks[blocks.Count - 1].DropoutLayer!));

        long parameterBytes = parameters * 4L, activationBytes = valuesPerSample * 4L * DefaultBatchSize;
        problems.Add(Problem.Create(NetworkDiagnostics.NetworkFootprint, spec.Location, spec.TypeName, parameters.ToString("N0", CultureInfo.InvariantCulture),
            DefaultBatchSize, Bytes(4 * parameterBytes + activationBytes), Bytes(parameterBytes), Bytes(parameterBytes), Bytes(2 * parameterBytes), Bytes(activationBytes)));
    }

    static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.##", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.##", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    /// <summary>The output must be as wide as the declared class count; two classes may use one sigmoid output under
    /// binary cross-entropy.</summary>
    static void CheckClassCount(NetworkSpec spec, BlockPlan last, List<Problem> problems)
    {
        if (spec.Classes < 2 || last.Outputs == spec.Classes) return;
        bool oneBinaryOutput = spec.Loss == Loss.BinaryCrossEntropy && spec.Classes == 2 && last.Outputs == 1;
        if (oneBinaryOutput) return;
        string wanted = spec.Loss == Loss.BinaryCrossEntropy && spec.Classes == 2 ? "1 or 2 wide" : $"{spec.Classes} wide";
        problems.Add(Problem.Create(NetworkDiagnostics.ClassCountMismatch, spec.Location, spec.TypeName,
            spec.Classes.ToString(CultureInfo.InvariantCulture), last.Name, last.Outputs.ToString(CultureInfo.InvariantCulture), wanted));
    }

    /// <summary>The values an output activation can produce, or null when it is unbounded.</summary>
    static (double Low, double High, string Text)? OutputRange(ActivationKind activation) => activation switch
    {
        ActivationKind.Sigmoid or ActivationKind.Softmax => (0, 1, "(0, 1)"),
        ActivationKind.Tanh => (-1, 1, "(−1, 1)"),
        ActivationKind.ReLU => (0, double.PositiveInfinity, "[0, ∞)"),
        _ => null,
    };

    static void CheckLoss(NetworkSpec spec, List<BlockPlan> blocks, List<Problem> problems)
    {
        if (spec.Loss != Loss.MeanSquaredError && !(spec.LabelSmoothing >= 0 && spec.LabelSmoothing < 1))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, spec.Location, $"Network '{spec.TypeName}'",
                "the label smoothing", Number(spec.LabelSmoothing), "[0, 1)"));
        if (spec.Classes != 0 && spec.Classes < 2)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, spec.Location, $"Network '{spec.TypeName}'",
                "the class count", spec.Classes.ToString(CultureInfo.InvariantCulture), "[2, ∞)"));
        double targetMinimum = spec.TargetMinimum ?? double.NegativeInfinity, targetMaximum = spec.TargetMaximum ?? double.PositiveInfinity;
        if (double.IsNaN(targetMinimum) || double.IsNaN(targetMaximum) || targetMinimum > targetMaximum)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, spec.Location, $"Network '{spec.TypeName}'",
                "the target range", $"[{Bound(targetMinimum)}, {Bound(targetMaximum)}]", "a range with minimum ≤ maximum"));
        if (blocks.Count == 0) return;
        var last = blocks[blocks.Count - 1];
        CheckClassCount(spec, last, problems);
        if ((spec.TargetMinimum.HasValue || spec.TargetMaximum.HasValue) && targetMinimum <= targetMaximum
            && OutputRange(last.Activation) is var (low, high, text) && (targetMinimum < low || targetMaximum > high))
            problems.Add(Problem.Create(NetworkDiagnostics.OutputRangeTooNarrow, spec.Layers.First(l => l.Name == last.ActivationLayer).Location,
                last.ActivationLayer!, last.Activation.ToString(), text, Bound(targetMinimum), Bound(targetMaximum)));
        if (spec.Loss == Loss.SoftmaxCrossEntropy && last.Activation == ActivationKind.Softmax)
        {
            var softmax = spec.Layers.First(l => l.Name == last.ActivationLayer);
            problems.Add(Problem.Create(NetworkDiagnostics.SoftmaxTwice, softmax.Location, softmax.Name));
        }
        // The fused gradient (ŷ − y) is taken with respect to the sigmoid's input, so the sigmoid must be the last step.
        if (spec.Loss == Loss.BinaryCrossEntropy && (last.Activation != ActivationKind.Sigmoid || last.HasDropout))
        {
            var lastLayer = spec.Layers.LastOrDefault();
            problems.Add(Problem.Create(NetworkDiagnostics.BinaryCrossEntropyNeedsSigmoid, lastLayer?.Location ?? spec.Location,
                spec.TypeName, lastLayer is null ? "nothing" : $"'{lastLayer.Name}' ({lastLayer.Kind})"));
        }
    }

    /// <summary>The largest float: generated code writes hyperparameters as float literals, and a literal beyond it
    /// does not compile.</summary>
    const string FloatMaximum = "3.4028235E+38";

    static bool FitsFloat(double value) => System.Math.Abs(value) <= float.MaxValue;

    /// <summary>Reports a layer's hyperparameter outside <paramref name="range"/> unless <paramref name="inRange"/>.</summary>
    static void Require(bool inRange, LayerSpec layer, string what, double value, string range, List<Problem> problems)
    {
        if (!inRange)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'", what, Bound(value), range));
    }

    static void CheckInitArguments(LayerSpec layer, List<Problem> problems)
    {
        var arguments = layer.InitArguments;
        string[] names = layer.Init switch
        {
            Init.Constant => ["the initial value"],
            Init.Uniform => ["the lower bound", "the upper bound"],
            Init.Normal => ["the mean", "the standard deviation"],
            _ => [],
        };
        for (int i = 0; i < names.Length; i++)
            Require(FitsFloat(arguments[i]), layer, names[i], arguments[i], $"[−{FloatMaximum}, {FloatMaximum}]", problems);
        if (layer.Init == Init.Uniform && !(arguments[0] < arguments[1]))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                "the uniform bounds", $"({Number(arguments[0])}, {Number(arguments[1])})", "low < high"));
        if (layer.Init == Init.Normal && !(arguments[1] > 0))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                "the standard deviation", Number(arguments[1]), "(0, ∞)"));
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

    static int Product(int[] shape) => shape.Aggregate(1, (a, b) => a * b);


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
