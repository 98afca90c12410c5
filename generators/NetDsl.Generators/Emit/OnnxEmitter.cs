using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

/// <summary>Emit for ONNX: prints a network's <c>ExportOnnx</c>, one call of the runtime's <c>OnnxGraph</c> per layer
/// of the plan, with θ's tensors under their PyTorch names as initializers. Dropout is the identity at inference and is
/// left out; BatchNorm exports with its running statistics.</summary>
internal static class OnnxEmitter
{
    const string Interop = "global::NetDsl.Interop.";

    public static void EmitExport(SourceWriter w, PassSchedule schedule, bool valid)
    {
        var plan = schedule.Plan;
        var spec = plan.Spec;
        string outputName = plan.Blocks.LastOrDefault()?.Activation == ActivationKind.Softmax ? "probabilities" : "logits";
        w.Line("/// <inheritdoc/>");
        if (!valid)
        {
            w.Line("public void ExportOnnx(string path, global::NetDsl.Data.IFeatureScaling? preprocessing = null, string? docString = null) => throw NetworkDeclarationError();");
            w.Line();
            return;
        }
        using (w.Block("public void ExportOnnx(string path, global::NetDsl.Data.IFeatureScaling? preprocessing = null, string? docString = null)"))
        {
            w.Line($"var graph = new {Interop}OnnxGraph({Literal(spec.TypeName)}, \"input\", [{string.Join(", ", plan.InputShape)}]);");
            w.Line($"string features = graph.Preprocess(\"input\", [{string.Join(", ", plan.InputShape)}], preprocessing);");
            var tensorOf = new Dictionary<string, string>();
            string current = "input";
            foreach (var layer in spec.Layers)
            {
                string? next = Layer(w, plan, layer, current, tensorOf);
                if (next is not null) current = next;
                tensorOf[layer.Name] = current;
            }
            w.Line($"graph.Output({(current == "input" ? "features" : Literal(current))}, {Literal(outputName)}, [{plan.OutputSize}]);");
            string doc = $"{spec.TypeName}, exported by NetDsl: input [N, {string.Join(", ", plan.InputShape)}] as PredictBatch takes it, output {outputName} [N, {plan.OutputSize}].";
            w.Line($"graph.Save(path, docString ?? {Literal(doc)});");
        }
        w.Line();
    }

    static string Of(string name, long value) => $"{Interop}OnnxAttribute.Of({Literal(name)}, {value}L)";

    static string Of(string name, double value) => $"{Interop}OnnxAttribute.Of({Literal(name)}, {Number(value)}f)";

    static string Of(string name, IEnumerable<int> values) => $"{Interop}OnnxAttribute.Of({Literal(name)}, [{string.Join(", ", values.Select(v => v + "L"))}])";

    static string Initializer(string tensor, IEnumerable<int> shape, string source, string offset, string length) =>
        $"graph.Initializer({Literal(tensor)}, [{string.Join(", ", shape)}], {source}.AsSpan({offset}, {length}))";

    static string Node(string op, string output, IEnumerable<string> inputs, params string[] attributes) =>
        $"graph.Node({Literal(op)}, {Literal(output)}, [{string.Join(", ", inputs)}]{string.Concat(attributes.Select(a => ", " + a))});";

    /// <summary>One layer's nodes; returns its output tensor, or null when the layer is the identity at inference.</summary>
    static string? Layer(SourceWriter w, NetworkPlan plan, LayerSpec layer, string x, Dictionary<string, string> tensorOf)
    {
        var block = plan.Blocks.FirstOrDefault(b => b.Name == layer.Name);
        // "input" stands for the graph's input after any preprocessing, held in the generated local `features`.
        string input = x == "input" ? "features" : Literal(x), name = layer.Name;
        // A weight has θ's shape (the checkpoint's), unless ONNX wants it laid out for broadcasting.
        string Weight(BlockPlan b, IEnumerable<int>? shape = null) => Initializer(b.Name + ".weight",
            shape ?? plan.Tensors.First(t => t.Name == b.Name + ".weight").Shape, "_parameters", $"{b.Name}WeightOffset", $"{b.Name}WeightLength");
        string Bias(BlockPlan b) => Initializer(b.Name + ".bias", [b.BiasLength], "_parameters", $"{b.Name}BiasOffset", $"{b.Name}BiasLength");
        switch (layer.Kind)
        {
            case LayerKind.Input:
                return null;
            case LayerKind.Dense:
                var dense = new List<string> { input, Weight(block!) };
                if (block.BiasLength > 0) dense.Add(Bias(block));
                w.Line(Node("Gemm", name, dense, Of("transB", 1)));
                return name;
            case LayerKind.Embedding:
                // Ids arrive as floats: cast to int64 (ONNX's TensorProto.INT64 is 7), gather the rows, then put the
                // components first as NetDsl lays them out: [N, L] → [N, L, D] → [N, D, L].
                w.Line($"var {name}Ids = {Node("Cast", name + ".ids", [input], Of("to", 7L))}");
                w.Line($"var {name}Rows = {Node("Gather", name + ".rows", [Weight(block!), $"{name}Ids"], Of("axis", 0L))}");
                w.Line(Node("Transpose", name, [$"{name}Rows"], Of("perm", new[] { 0, 2, 1 })));
                return name;
            case LayerKind.Conv2D or LayerKind.Conv1D:
                var g = block!.Geometry;
                var conv = new List<string> { input, Weight(block) };
                if (block.BiasLength > 0) conv.Add(Bias(block));
                int totalHeight = System.Math.Max((g.OutputHeight - 1) * g.Stride + g.KernelHeight - g.Height, 0);
                int totalWidth = System.Math.Max((g.OutputWidth - 1) * g.Stride + g.KernelWidth - g.Width, 0);
                // ONNX's Conv is n-dimensional: over (channels, length) its attributes list the length alone.
                w.Line(block.IsOneDimensional
                    ? Node("Conv", name, conv, Of("kernel_shape", [g.KernelWidth]), Of("strides", [g.Stride]), Of("pads", [g.PadLeft, totalWidth - g.PadLeft]))
                    : Node("Conv", name, conv, Of("kernel_shape", [g.KernelHeight, g.KernelWidth]), Of("strides", [g.Stride, g.Stride]),
                        Of("pads", [g.PadTop, g.PadLeft, totalHeight - g.PadTop, totalWidth - g.PadLeft])));
                return name;
            case LayerKind.BatchNorm:
                int channels = block!.Channels;
                w.Line(Node("BatchNormalization", name, [input, Weight(block), Bias(block),
                    Initializer(name + ".running_mean", [channels], "_statistics", block.StatisticsOffset.ToString(CultureInfo.InvariantCulture), channels.ToString(CultureInfo.InvariantCulture)),
                    Initializer(name + ".running_var", [channels], "_statistics", (block.StatisticsOffset + channels).ToString(CultureInfo.InvariantCulture), channels.ToString(CultureInfo.InvariantCulture))],
                    Of("epsilon", layer.Epsilon), Of("momentum", layer.Parameter)));
                return name;
            case LayerKind.MaxPool or LayerKind.AvgPool:
                var p = block!.Geometry;
                w.Line(Node(layer.Kind == LayerKind.MaxPool ? "MaxPool" : "AveragePool", name, [input],
                    Of("kernel_shape", block.IsOneDimensional ? new[] { p.KernelWidth } : new[] { p.KernelHeight, p.KernelWidth }),
                    Of("strides", block.IsOneDimensional ? new[] { p.Stride } : new[] { p.Stride, p.Stride }), Of("ceil_mode", p.Overhangs ? 1 : 0)));
                return name;
            case LayerKind.GlobalAveragePool:
                w.Line($"var {name}Pooled = {Node("GlobalAveragePool", name + ".pooled", [input])}");
                w.Line(Node("Flatten", name, [$"{name}Pooled"], Of("axis", 1)));
                return name;
            case LayerKind.Flatten:
                w.Line(Node("Flatten", name, [input], Of("axis", 1)));
                return name;
            case LayerKind.Concat:
                string joined = layer.Source is { } j && tensorOf.TryGetValue(j, out var joinedTensor) ? joinedTensor : "input";
                w.Line(Node("Concat", name, [input, joined == "input" ? "features" : Literal(joined)], Of("axis", 1L)));
                return name;
            case LayerKind.Add:
                string source = layer.Source is { } s && tensorOf.TryGetValue(s, out var tensor) ? tensor : "input";
                string skip = source == "input" ? "features" : Literal(source);
                if (block!.IsProjected)
                {
                    var pg = block.Geometry;
                    w.Line($"var {name}Projected = {Node("Conv", name + ".projected", [skip, Weight(block), Bias(block)], Of("kernel_shape", new[] { 1, 1 }), Of("strides", new[] { pg.Stride, pg.Stride }))}");
                    skip = $"{name}Projected";
                }
                w.Line(Node("Add", name, [input, skip]));
                return name;
            case LayerKind.PReLU:
                // One slope per channel, broadcast over the spatial dimensions.
                int rank = plan.Layers.First(l => l.Name == name).OutputShape.Count;
                var shape = new[] { block!.Channels }.Concat(Enumerable.Repeat(1, rank - 1));
                w.Line(Node("PRelu", name, [input, Weight(block, shape)]));
                return name;
            case LayerKind.Maxout:
                int pieces = layer.Pieces, groups = block!.Outputs;
                w.Line($"graph.Int64Initializer({Literal(name + ".shape")}, [0, {groups}, {pieces}]);");
                w.Line($"var {name}Groups = {Node("Reshape", name + ".groups", [input, Literal(name + ".shape")])}");
                w.Line(Node("ReduceMax", name, [$"{name}Groups"], Of("axes", [2]), Of("keepdims", 0)));
                return name;
            case LayerKind.ReLU: w.Line(Node("Relu", name, [input])); return name;
            case LayerKind.Sigmoid: w.Line(Node("Sigmoid", name, [input])); return name;
            case LayerKind.Tanh: w.Line(Node("Tanh", name, [input])); return name;
            case LayerKind.Softmax: w.Line(Node("Softmax", name, [input], Of("axis", 1))); return name;
            case LayerKind.LeakyReLU: w.Line(Node("LeakyRelu", name, [input], Of("alpha", layer.Parameter))); return name;
            case LayerKind.ELU: w.Line(Node("Elu", name, [input], Of("alpha", layer.Parameter))); return name;
            case LayerKind.SELU:
                w.Line(Node("Selu", name, [input], $"{Interop}OnnxAttribute.Of(\"alpha\", {Kernels}Activations.SeluAlphaF)",
                    $"{Interop}OnnxAttribute.Of(\"gamma\", {Kernels}Activations.SeluScaleF)"));
                return name;
            default: // Linear is the identity; Dropout is the identity at inference
                return null;
        }
    }
}
