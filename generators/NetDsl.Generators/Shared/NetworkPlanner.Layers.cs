using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

internal static partial class NetworkPlanner
{
    /// <summary>Shape inference and fusion, layer by layer in declaration order: each layer either starts a block or
    /// joins the one before it (an activation or dropout after a core step), and the shape it leaves is the next
    /// layer's input.</summary>
    sealed class LayerWalk(NetworkSpec spec, List<Problem> problems)
    {
        public readonly List<LayerPlan> Layers = [];
        public readonly List<BlockPlan> Blocks = [];
        public int[]? InputShape;
        int[] shape = [];
        // A layer a skip connection names must keep its own output: nothing fuses onto the block it ends.
        readonly HashSet<string> referenced = new(spec.Layers.Where(l => l.Kind is LayerKind.Add or LayerKind.Concat).Select(l => l.Source ?? ""));
        readonly Dictionary<string, (int Block, int[] Shape)> outputs = [];
        bool sealedBlock;

        /// <summary>The block a layer may join, unless a skip connection reads its output.</summary>
        BlockPlan? Current => Blocks.Count > 0 && !sealedBlock ? Blocks[Blocks.Count - 1] : null;

        int Width => Shapes.Count(shape);

        void Report(Problem problem) => problems.Add(problem);

        void AddBlock(LayerSpec layer, BlockKind kind, int outputs, int channels, System.Func<BlockPlan, BlockPlan>? with = null)
        {
            var block = Block(Blocks.Count, layer.Name, kind, Width, outputs, channels);
            Blocks.Add(with is null ? block : with(block));
        }

        void ReplaceCurrent(BlockPlan block) => Blocks[Blocks.Count - 1] = block;

        public void Add(LayerSpec layer)
        {
            if (layer.Kind == LayerKind.Input)
            {
                AddInput(layer);
                Layers.Add(Layer(layer, shape));
                outputs[layer.Name] = (-1, shape);
                return;
            }
            // Without an input there is no shape (reported once, as a missing input); a layer whose attribute Parse could
            // not read (no matching constructor while the user types) has no sizes.
            if (InputShape is null || !layer.ArgumentsRead)
            {
                Layers.Add(Layer(layer, shape));
                return;
            }
            switch (layer.Kind)
            {
                case LayerKind.Flatten: shape = [Width]; break;
                case LayerKind.Linear: break;
                case LayerKind.Dense: AddDense(layer); break;
                case LayerKind.Embedding: AddEmbedding(layer); break;
                case LayerKind.Conv2D or LayerKind.Conv1D: AddConvolution(layer); break;
                case LayerKind.MaxPool or LayerKind.AvgPool or LayerKind.GlobalAveragePool: AddPooling(layer); break;
                case LayerKind.BatchNorm: AddBatchNorm(layer); break;
                case LayerKind.Add: AddSkip(layer); break;
                case LayerKind.Concat: AddConcat(layer); break;
                case LayerKind.PReLU: AddPReLU(layer); break;
                case LayerKind.Maxout: AddMaxout(layer); break;
                case LayerKind.Dropout: AddDropout(layer); break;
                default: AddActivation(layer); break;
            }
            Layers.Add(Layer(layer, shape));
            outputs[layer.Name] = (Blocks.Count - 1, shape);
            sealedBlock = referenced.Contains(layer.Name);
        }

        void AddInput(LayerSpec layer)
        {
            if (InputShape is not null || Layers.Count > 0)
            {
                Report(Problem.Create(NetworkDiagnostics.MisplacedInput, layer.Location, layer.Name));
                return;
            }
            var declared = layer.Shape.ToArray();
            if (declared.Length == 0)
                Report(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the input shape", "no dimensions"));
            for (int d = 0; d < declared.Length; d++)
                if (declared[d] <= 0)
                    Report(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", $"input dimension {d}", declared[d]));
            // Planning goes on with a shape that stands in for the wrong one, so later layers are still checked.
            InputShape = declared.Length == 0 ? [1] : declared.Select(d => System.Math.Max(d, 1)).ToArray();
            shape = InputShape;
        }

        void AddDense(LayerSpec layer)
        {
            if (layer.Units <= 0)
                Report(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the unit count", layer.Units));
            if (shape.Length != 1)
                Report(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Dense", ShapeText(shape),
                    "Dense takes one dimension per sample; add a [Flatten] layer before it"));
            int units = System.Math.Max(layer.Units, 1);
            CheckInitArguments(layer, problems);
            AddBlock(layer, BlockKind.Dense, units, units, b => b with { Init = layer.Init, InitArguments = layer.InitArguments, HasBias = layer.Bias });
            shape = [units];
        }

        void AddEmbedding(LayerSpec layer)
        {
            if (layer.Vocabulary <= 0)
                Report(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the vocabulary", layer.Vocabulary));
            if (layer.Units <= 0)
                Report(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the dimension", layer.Units));
            if (Blocks.Count > 0 || shape.Length != 1)
                Report(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Embedding", ShapeText(shape),
                    "Embedding reads ids straight from the network input; place it right after an [Input(length)] of ids"));
            int dimension = System.Math.Max(layer.Units, 1), length = Width;
            // N(0, 1), PyTorch's nn.Embedding default.
            AddBlock(layer, BlockKind.Embedding, dimension * length, dimension, b => b with
            {
                Vocabulary = System.Math.Max(layer.Vocabulary, 1), HasBias = false, Init = Init.Normal, InitArguments = new[] { 0.0, 1.0 }.ToEquatableArray(),
            });
            shape = [dimension, length];
        }

        void AddConvolution(LayerSpec layer)
        {
            var convolution = ConvolutionGeometry(layer, shape, problems);
            int filters = System.Math.Max(layer.Filters, 1);
            CheckInitArguments(layer, problems);
            bool line = layer.Kind == LayerKind.Conv1D;
            AddBlock(layer, BlockKind.Conv, filters * convolution.OutputPixels, filters,
                b => b with { Init = layer.Init, InitArguments = layer.InitArguments, Geometry = convolution, HasBias = layer.Bias, IsOneDimensional = line });
            shape = line ? [filters, convolution.OutputWidth] : [filters, convolution.OutputHeight, convolution.OutputWidth];
        }

        void AddPooling(LayerSpec layer)
        {
            var pooling = PoolingGeometry(layer, shape, problems);
            bool line = shape.Length == 2;
            AddBlock(layer, layer.Kind == LayerKind.MaxPool ? BlockKind.MaxPool : BlockKind.AvgPool, pooling.Channels * pooling.OutputPixels,
                pooling.Channels, b => b with { Geometry = pooling, IsOneDimensional = line });
            shape = layer.Kind == LayerKind.GlobalAveragePool ? [pooling.Channels]
                : line ? [pooling.Channels, pooling.OutputWidth] : [pooling.Channels, pooling.OutputHeight, pooling.OutputWidth];
        }

        void AddBatchNorm(LayerSpec layer)
        {
            if (!(layer.Parameter >= 0 && layer.Parameter < 1))
                Report(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'", "the momentum",
                    Number(layer.Parameter), "[0, 1)"));
            Require(layer.Epsilon > 0 && layer.Epsilon <= float.MaxValue, layer, "ε", layer.Epsilon, $"(0, {FloatMaximum}]", problems);
            // β replaces the bias of a product right before it, which at inference takes the normalization folded in.
            if (Current is { IsProduct: true, Activation: ActivationKind.None, HasDropout: false } product)
                ReplaceCurrent(product with { HasBias = false, IsFolded = true });
            AddBlock(layer, BlockKind.BatchNorm, Width, shape[0], b => b with { Momentum = layer.Parameter, Epsilon = layer.Epsilon });
        }

        void AddSkip(LayerSpec layer)
        {
            int source = -1;
            if (layer.Source is null || !outputs.TryGetValue(layer.Source, out var named))
                Report(Problem.Create(NetworkDiagnostics.UnknownSource, layer.Location, layer.Name, layer.Source ?? ""));
            else if (layer.Projection)
            {
                if (Projection(layer, named.Shape) is { } geometry)
                {
                    // He initialization, as for the convolutions on the main path.
                    AddBlock(layer, BlockKind.Add, Width, shape[0], b => b with
                    {
                        SourceBlock = named.Block, IsProjected = true, Geometry = geometry, Init = Init.He, HasBias = true,
                    });
                    return;
                }
            }
            else if (!named.Shape.SequenceEqual(shape))
                Report(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Add", ShapeText(shape),
                    $"it adds '{layer.Source}' of shape {ShapeText(named.Shape)}; both summands need the same shape, or set Projection = true to map it with a 1×1 convolution"));
            else source = named.Block;
            AddBlock(layer, BlockKind.Add, Width, 1, b => b with { SourceBlock = source });
        }

        /// <summary>The 1×1 convolution that maps the source's (C′, H′, W′) maps onto this (C, H, W): stride H′/H, which
        /// must be whole and give W from W′ too.</summary>
        ConvGeometry? Projection(LayerSpec layer, int[] source)
        {
            int stride = shape.Length == 3 && source.Length == 3 && shape[1] > 0 ? (source[1] + shape[1] - 1) / shape[1] : 0;
            if (stride < 1 || (source[1] - 1) / stride + 1 != shape[1] || (source[2] - 1) / stride + 1 != shape[2])
            {
                Report(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Add", ShapeText(shape),
                    $"its projection maps '{layer.Source}' of shape {ShapeText(source)} with a strided 1×1 convolution, which needs two (channels, height, width) maps whose sizes a stride relates"));
                return null;
            }
            return new ConvGeometry(source[0], source[1], source[2], 1, 1, stride, 0, 0, shape[1], shape[2]);
        }

        void AddConcat(LayerSpec layer)
        {
            if (layer.Source is null || !outputs.TryGetValue(layer.Source, out var named))
            {
                Report(Problem.Create(NetworkDiagnostics.UnknownSource, layer.Location, layer.Name, layer.Source ?? ""));
                return;
            }
            var other = named.Shape;
            if (other.Length != shape.Length || !other.Skip(1).SequenceEqual(shape.Skip(1)))
            {
                Report(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Concat", ShapeText(shape),
                    $"it joins '{layer.Source}' of shape {ShapeText(other)} along the first dimension; every other dimension must match"));
                return;
            }
            int[] joined = [shape[0] + other[0], .. shape.Skip(1)];
            AddBlock(layer, BlockKind.Concat, Shapes.Count(joined), joined[0], b => b with { SourceBlock = named.Block });
            shape = joined;
        }

        void AddPReLU(LayerSpec layer)
        {
            Require(FitsFloat(layer.Parameter), layer, "the initial slope", layer.Parameter, $"[−{FloatMaximum}, {FloatMaximum}]", problems);
            // Its slope gradient needs the pre-activation, so it is a step of its own reading the previous output. The
            // initial slope is an initializer argument: an activation fused after it keeps its own parameter.
            AddBlock(layer, BlockKind.PReLU, Width, shape[0], b => b with { InitArguments = new[] { layer.Parameter }.ToEquatableArray() });
        }

        void AddMaxout(LayerSpec layer)
        {
            int pieces = layer.Pieces, width = Width;
            if (pieces <= 0)
                Report(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", "the piece count", pieces));
            else if (shape.Length != 1 || width % pieces != 0)
                Report(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Maxout", ShapeText(shape),
                    $"Maxout({pieces}) takes one dimension per sample whose size is a multiple of {pieces}"));
            pieces = System.Math.Max(pieces, 1);
            // The max over groups of k is a 1×k max pool with stride k over a one-row map.
            var groups = new ConvGeometry(1, 1, width, 1, pieces, pieces, 0, 0, 1, System.Math.Max(width / pieces, 1));
            AddBlock(layer, BlockKind.MaxPool, groups.OutputWidth, 1, b => b with { Geometry = groups });
            shape = [groups.OutputWidth];
        }

        void AddActivation(LayerSpec layer)
        {
            var activation = (ActivationKind)System.Enum.Parse(typeof(ActivationKind), layer.Kind.ToString());
            if (layer.Kind is LayerKind.LeakyReLU or LayerKind.ELU)
                Require(layer.Parameter >= 0 && layer.Parameter <= float.MaxValue, layer, layer.Kind == LayerKind.ELU ? "α" : "the negative slope",
                    layer.Parameter, $"[0, {FloatMaximum}]", problems);
            if (layer.Kind == LayerKind.Softmax && shape.Length != 1)
                Report(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, "Softmax", ShapeText(shape),
                    "Softmax normalizes one dimension per sample; add a [Flatten] layer before it"));
            // PReLU is an activation itself: one after it is a step of its own.
            if (Current is { Kind: not BlockKind.PReLU, Activation: ActivationKind.None, HasDropout: false } core && core.Outputs == Width)
                ReplaceCurrent(core with { Activation = activation, ActivationParameter = layer.Parameter, ActivationLayer = layer.Name });
            else
                AddBlock(layer, BlockKind.Elementwise, Width, 1,
                    b => b with { Activation = activation, ActivationParameter = layer.Parameter, ActivationLayer = layer.Name });
        }

        void AddDropout(LayerSpec layer)
        {
            if (!(layer.Parameter >= 0 && layer.Parameter < 1))
                Report(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'", "the dropout rate",
                    Number(layer.Parameter), "[0, 1)"));
            if (Current is { HasDropout: false } step && step.Outputs == Width)
                ReplaceCurrent(step with { DropoutRate = layer.Parameter, DropoutLayer = layer.Name });
            else
                AddBlock(layer, BlockKind.Elementwise, Width, 1, b => b with { DropoutRate = layer.Parameter, DropoutLayer = layer.Name });
        }
    }
}
