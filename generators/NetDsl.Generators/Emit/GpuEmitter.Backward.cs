using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

// The GPU backward pass and the epilogue structs both passes launch.
internal static partial class GpuEmitter
{
    /// <summary>The softmax's Jacobian applied to the gradient that has just reached <paramref name="step"/>'s output (with its
    /// dropout mask already applied by the epilogue that wrote it).</summary>
    static void EmitSoftmaxBackward(SourceWriter w, BlockPlan step) =>
        w.Line($"SoftmaxRowsBackward({step.Name}Gradient, {ActivationOutput(step)}, batch, {Width(step)}); // {step.ActivationLayer}'s Jacobian, row by row");

    static void EmitBackward(SourceWriter w, PassSchedule schedule, List<BlockPlan> blocks, BlockPlan? outputStep)
    {
        w.Line("/// <inheritdoc/>");
        using (w.Block("protected override void Backward(int batch, bool dropout, ulong seed, float l1, float l2)"))
        {
            if (blocks.Any(b => b.HasDropout)) w.Line("var rates = host.DropoutRates;");
            if (outputStep is not null)
            {
                w.Line($"// dZ of {outputStep.Name} from the loss gradient, through the steps after its product");
                if (ElementwiseOutputStep(outputStep))
                    w.Line($"Pass({outputStep.Name}Gradient, batch, {Width(outputStep)}, new {outputStep.Name}OutputStep {{ {ReceiverFields(schedule, outputStep)} }});");
                if (Softmax(outputStep)) EmitSoftmaxBackward(w, outputStep);
            }
            bool fused = schedule.GpuFusedBackward;
            if (fused)
                using (w.Block("if (FusedPasses)"))
                {
                    w.Line("// dZ of every layer but the last in one kernel, the tile of each kept in shared memory");
                    var fields = new List<string> { "Batch = batch", "Parameters = Parameters", $"LastGradient = {blocks[blocks.Count - 1].Name}Gradient" };
                    for (int i = 1; i < blocks.Count; i++)
                        fields.Add($"{blocks[i].Name}Input = new {blocks[i].Name}InputGradient {{ {ReceiverFields(schedule, blocks[i - 1])} }}");
                    w.Line($"LaunchTiles(FusedBackward, batch, new FusedBackwardPass {{ {string.Join(", ", fields)} }});");
                }
            for (int i = blocks.Count - 1; i >= 0; i--)
            {
                var block = blocks[i];
                var previous = i > 0 ? blocks[i - 1] : null;
                bool needsInput = previous is not null && schedule[previous].ReceivesGradient;
                string receiver = previous is null ? "" : $"new {block.Name}InputGradient {{ {ReceiverFields(schedule, previous)} }}";
                string weights = $"{block.Name}WeightOffset, {block.Name}WeightLength";
                string weightGradient = $"new {Gpu}WeightGradientEpilogue {{ Gradient = Gradients.SubView({weights}), Weights = Parameters.SubView({weights}), Inputs = {block.FanIn}, L1 = l1, L2 = l2 }}";
                switch (block.Kind)
                {
                    case BlockKind.Dense:
                        w.Line($"// {block.Name}: dW = dZᵀ·X (with the regularization gradient){(block.HasBias ? ", db = Σ dZ" : "")}");
                        w.Line($"Multiply({block.Name}Gradient, {InputOf(blocks, block)}, {Gpu}ProductShape.Of({Width(block)}, {InputWidth(blocks, block)}, batch, transposeA: true, transposeB: false), {weightGradient});");
                        if (block.HasBias) w.Line($"BiasGradient({block.Name}Gradient, batch, {Width(block)}, Gradients.SubView({block.Name}BiasOffset, {Width(block)}));");
                        if (!needsInput) break;
                        w.Line($"// dZ of {previous!.Name} = (dZ of {block.Name} · W) ⊙ its dropout mask and activation derivative");
                        w.Line($"{(fused ? "if (!FusedPasses) " : "")}Multiply({block.Name}Gradient, Parameters.SubView({weights}), {Gpu}ProductShape.Of(batch, {InputWidth(blocks, block)}, {Width(block)}, transposeA: false, transposeB: false),");
                        w.Line($"    {receiver});");
                        break;
                    case BlockKind.Conv:
                        var g = block.Geometry!;
                        string rows = $"batch * {g.OutputPixels}";
                        w.Line($"// {block.Name}: dZ as pixel-major rows; dW = dZᵀ·patches (with the regularization gradient){(block.HasBias ? ", db = Σ dZ" : "")}");
                        w.Line($"PixelMajor({block.Name}Gradient, {block.Name}PixelGradient, batch, {block.Channels}, {g.OutputPixels});");
                        w.Line($"Multiply({block.Name}PixelGradient, {block.Name}Patches, {Gpu}ProductShape.Of({block.Channels}, {g.PatchSize}, {rows}, transposeA: true, transposeB: false), {weightGradient});");
                        if (block.HasBias) w.Line($"BiasGradient({block.Name}PixelGradient, {rows}, {block.Channels}, Gradients.SubView({block.Name}BiasOffset, {block.Channels}));");
                        if (!needsInput) break;
                        w.Line($"// The patches' gradient dZ·W (over the patches, no longer needed), gathered back onto {previous!.Name}'s output");
                        w.Line($"Multiply({block.Name}PixelGradient, Parameters.SubView({weights}), {Gpu}ProductShape.Of({rows}, {g.PatchSize}, {block.Channels}, transposeA: false, transposeB: false), new {Gpu}StoreEpilogue {{ Output = {block.Name}Patches, Width = {g.PatchSize} }});");
                        w.Line($"PatchesToImage({block.Name}Patches, batch, {GeometryOf(block)}, {receiver});");
                        break;
                    case BlockKind.BatchNorm:
                        w.Line($"// {block.Name}: dγ, dβ and the gradient of its input from x̂ and 1/σ");
                        w.Line($"BatchNormGradient({block.Name}Gradient, {block.Name}Normalized, {block.Name}Moments, Parameters.SubView({block.Name}WeightOffset, {block.Channels}), Gradients.SubView({block.Name}WeightOffset, {block.Channels}),");
                        w.Line($"    Gradients.SubView({block.Name}BiasOffset, {block.Channels}), {block.Name}Coefficients, batch, {block.Channels}, {block.Spatial}, {(needsInput ? receiver : $"new {Gpu}StoreEpilogue {{ Output = {block.Name}Gradient, Width = {Width(block)} }}")});");
                        break;
                    case BlockKind.Embedding:
                        w.Line($"// {block.Name}: the table's gradient at the rows of the batch's ids (no weight decay, no input gradient)");
                        w.Line($"EmbeddingGradient(Inputs, {block.Name}Gradient, Gradients.SubView({weights}), batch, {block.Inputs}, {block.Channels});");
                        break;
                    case BlockKind.PReLU:
                        w.Line($"// {block.Name}: the slopes' gradient Σ g·z over z ≤ 0, and its input gradient");
                        w.Line($"PReLUGradient({block.Name}Gradient, {InputOf(blocks, block)}, Parameters.SubView({block.Name}WeightOffset, {block.Channels}), Gradients.SubView({block.Name}WeightOffset, {block.Channels}),");
                        w.Line($"    batch, {block.Channels}, {block.Spatial}, {(needsInput ? receiver : $"new {Gpu}StoreEpilogue {{ Output = {block.Name}Gradient, Width = {Width(block)} }}")});");
                        break;
                    case BlockKind.MaxPool:
                        if (!needsInput) break;
                        w.Line($"// {block.Name}: each output's gradient back to the input that won its window");
                        w.Line($"MaxPoolGradient({block.Name}Gradient, {block.Name}Winners, batch, {GeometryOf(block)}, {receiver});");
                        break;
                    case BlockKind.AvgPool:
                        if (!needsInput) break;
                        w.Line($"// {block.Name}: each output's gradient spread over its window");
                        w.Line($"AveragePoolGradient({block.Name}Gradient, batch, {GeometryOf(block)}, {receiver});");
                        break;
                    case BlockKind.Concat:
                        if (!needsInput) break;
                        w.Line($"// {block.Name}: its first {block.FirstWidth} values per sample go back to {previous!.Name}; the rest join {SourceName(schedule.Plan, block)}'s gradient where it is consumed");
                        w.Line($"PassLeading({block.Name}Gradient, batch, {Width(block)}, {block.FirstWidth}, {receiver});");
                        break;
                    default:
                        if (block.IsProjected) EmitProjectionBackward(w, schedule, blocks, block, weights, weightGradient);
                        if (!needsInput) break;
                        w.Line(block.Kind == BlockKind.Add
                            ? $"// {block.Name}: the sum passes its gradient to {previous!.Name}; the skip path takes it where {SourceName(schedule.Plan, block)} is consumed"
                            : $"// {block.Name}: the gradient passes to {previous!.Name}");
                        w.Line($"Pass({block.Name}Gradient, batch, {InputWidth(blocks, block)}, {receiver});");
                        break;
                }
                if (needsInput && Softmax(previous!)) EmitSoftmaxBackward(w, previous!);
            }
        }
        w.Line();
    }

    /// <summary>The fields of the epilogue that turns a gradient arriving at <paramref name="previous"/>'s output into its
    /// dZ; a projected skip's gradient is the one its projection sent back onto <paramref name="previous"/>'s maps.</summary>
    static string ReceiverFields(PassSchedule schedule, BlockPlan previous) => string.Join(", ",
        new[] { $"Destination = {previous.Name}Gradient", ChainFields(previous, "seed") }
            .Concat(schedule.SkipsAt(previous).Select(skip => $"{skip.Name}Gradient = {skip.Name}{(skip.IsProjected ? "ProjectedGradient" : "Gradient")}"))
            .Where(f => f.Length > 0));

    /// <summary>A projected skip's 1×1 convolution backward: dW (with the regularization gradient) and db from dZ as
    /// pixel-major rows and the patches; then, where the source takes a gradient, dZ·W onto the patches and back onto
    /// the source's maps, for the source's receiver to add.</summary>
    static void EmitProjectionBackward(SourceWriter w, PassSchedule schedule, List<BlockPlan> blocks, BlockPlan add, string weights, string weightGradient)
    {
        var g = add.Geometry;
        string rows = $"batch * {g.OutputPixels}";
        w.Line($"// {add.Name}: the projection's dW and db, and the gradient it sends back to its source");
        w.Line($"PixelMajor({add.Name}Gradient, {add.Name}PixelGradient, batch, {add.Channels}, {g.OutputPixels});");
        w.Line($"Multiply({add.Name}PixelGradient, {add.Name}Patches, {Gpu}ProductShape.Of({add.Channels}, {g.PatchSize}, {rows}, transposeA: true, transposeB: false), {weightGradient});");
        w.Line($"BiasGradient({add.Name}PixelGradient, {rows}, {add.Channels}, Gradients.SubView({add.Name}BiasOffset, {add.Channels}));");
        if (!schedule.SourceTakesGradient(add)) return;
        w.Line($"Multiply({add.Name}PixelGradient, Parameters.SubView({weights}), {Gpu}ProductShape.Of({rows}, {g.PatchSize}, {add.Channels}, transposeA: false, transposeB: false), new {Gpu}StoreEpilogue {{ Output = {add.Name}Patches, Width = {g.PatchSize} }});");
        w.Line($"PatchesToImage({add.Name}Patches, batch, {GeometryOf(add)}, new {Gpu}StoreEpilogue {{ Output = {add.Name}ProjectedGradient, Width = {g.InputSize} }});");
    }

    /// <summary>The fields a backward epilogue needs to undo <paramref name="step"/>'s dropout and activation.</summary>
    static string ChainFields(BlockPlan step, string seed)
    {
        var fields = new List<string>();
        if (ElementwiseDerivative(step)) fields.Add($"Activation = {ActivationOutput(step)}");
        if (step.HasDropout) fields.Add(DropoutFields(step, seed));
        return string.Join(", ", fields);
    }

    static void EmitEpilogues(SourceWriter w, PassSchedule schedule, List<BlockPlan> blocks, BlockPlan? outputStepBlock)
    {
        const string Interface = Gpu + "IGpuEpilogue";
        foreach (var block in blocks)
        {
            w.Line();
            var steps = new List<string>();
            if (ForwardBias(block)) steps.Add("bias");
            if (block.Activation != ActivationKind.None && !Softmax(block)) steps.Add(block.Activation.ToString());
            if (block.HasDropout) steps.Add("dropout");
            w.Line(Softmax(block)
                ? $"/// <summary>{SourceWriter.Escape(Describe(block))}: {(block.HasDropout ? "dropout on" : "stores")} each value of the softmax (SoftmaxRows).</summary>"
                : $"/// <summary>{SourceWriter.Escape(Describe(block))}: {(steps.Count == 0 ? "stores" : string.Join(", ", steps) + " on")} each element {(block.IsProduct ? "of the product" : "it produces")}.</summary>");
            w.Line(GeneratedCode);
            using (w.Block($"internal struct {block.Name}Forward : {Interface}"))
            {
                bool bias = ForwardBias(block);
                w.Line($"public {View} {(bias ? "Bias, " : "")}Output{(block.KeepsActivation ? ", Activation" : "")};");
                if (block.HasDropout) EmitDropoutFieldDeclarations(w);
                w.Line();
                w.Line("public readonly void Apply(int row, int column, float value) => Activate(row, column, value);");
                w.Line();
                w.Line("/// <summary>Stores the element's output (and pre-dropout activation) and returns the output.</summary>");
                using (w.Block("public readonly float Activate(int row, int column, float value)"))
                {
                    // A convolution's product row is a sample's pixel and its column a filter: the element's NCHW place.
                    w.Line(block.Kind == BlockKind.Conv
                        ? $"int at = row / {block.Geometry!.OutputPixels} * {Width(block)} + column * {block.Geometry.OutputPixels} + row % {block.Geometry.OutputPixels};"
                        : $"int at = row * {Width(block)} + column;");
                    w.Line(bias ? "float v = value + Bias[column];" : "float v = value;");
                    if (block.Activation != ActivationKind.None && !Softmax(block)) w.Line($"v = {Activation(block, "v")};");
                    if (block.HasDropout)
                        using (w.Block("if (Dropout != 0)"))
                        {
                            if (block.KeepsActivation) w.Line("Activation[at] = v;");
                            w.Line($"v = {Kernels}Dropout.Keeps(Key, at, Threshold) ? v * Keep : 0f;");
                        }
                    w.Line("Output[at] = v;");
                    w.Line("return v;");
                }
            }
        }
        for (int i = 1; i <= blocks.Count; i++)
        {
            // Block i's input gradient forms dZ of block i − 1; past the last block comes the loss gradient's own step.
            bool outputStep = i == blocks.Count;
            if (outputStep && (outputStepBlock is null || !ElementwiseOutputStep(outputStepBlock))) break;
            var step = outputStep ? outputStepBlock! : blocks[i - 1];
            string name = outputStep ? $"{step.Name}OutputStep" : $"{blocks[i].Name}InputGradient";
            w.Line();
            w.Line(outputStep
                ? $"/// <summary>dZ of {step.Name} from the loss gradient: its dropout mask and activation derivative, element by element.</summary>"
                : $"/// <summary>dZ of {step.Name} on each element of dZ({blocks[i].Name})·W: its dropout mask and activation derivative.</summary>");
            var skips = outputStep ? new List<BlockPlan>() : schedule.SkipsAt(step).ToList();
            w.Line(GeneratedCode);
            using (w.Block($"internal struct {name} : {Interface}"))
            {
                w.Line($"public {View} Destination{(ElementwiseDerivative(step) ? ", Activation" : "")}{string.Concat(skips.Select(skip => $", {skip.Name}Gradient"))};");
                if (step.HasDropout) EmitDropoutFieldDeclarations(w);
                w.Line();
                w.Line("public readonly void Apply(int row, int column, float value) => Form(row, column, value);");
                w.Line();
                w.Line("/// <summary>Stores the element's dZ and returns it.</summary>");
                using (w.Block("public readonly float Form(int row, int column, float value)"))
                {
                    w.Line($"int at = row * {Width(step)} + column;");
                    w.Line("float g = value;");
                    foreach (var skip in skips)
                        w.Line(skip.Kind == BlockKind.Concat
                            ? $"g += {skip.Name}Gradient[row * {Width(skip)} + {skip.FirstWidth} + column]; // {skip.Name} joined {step.Name}'s output"
                            : $"g += {skip.Name}Gradient[at]; // {skip.Name} added {step.Name}'s output");
                    if (step.HasDropout) w.Line($"if (Dropout != 0) g = {Kernels}Dropout.Keeps(Key, at, Threshold) ? g * Keep : 0f;");
                    if (ElementwiseDerivative(step))
                    {
                        w.Line("float a = Activation[at];");
                        w.Line($"g = {Derivative(step, "g", "a")};");
                    }
                    w.Line("Destination[at] = g;");
                    w.Line("return g;");
                }
            }
        }
    }

    static void EmitDropoutFieldDeclarations(SourceWriter w) =>
        w.Lines("public int Dropout;", "public ulong Key;", "public uint Threshold;", "public float Keep;");

    const string SeluScale = Kernels + "Activations.SeluScaleF", SeluScaledAlpha = Kernels + "Activations.SeluScaledAlphaF",
        SeluAlpha = Kernels + "Activations.SeluAlphaF";

    static string Activation(BlockPlan block, string v)
    {
        string p = Number(block.ActivationParameter) + "f";
        return block.Activation switch
        {
            ActivationKind.ReLU => $"{v} > 0f ? {v} : 0f",
            ActivationKind.LeakyReLU => $"{v} > 0f ? {v} : {p} * {v}",
            ActivationKind.ELU => $"{v} > 0f ? {v} : {p} * ({XMath}.Exp({v}) - 1f)",
            ActivationKind.SELU => $"{SeluScale} * ({v} > 0f ? {v} : {SeluAlpha} * ({XMath}.Exp({v}) - 1f))",
            ActivationKind.Sigmoid => $"1f / (1f + {XMath}.Exp(-{v}))",
            ActivationKind.Tanh => $"{XMath}.Tanh({v})",
            _ => v,
        };
    }

    /// <summary>g ⊙ act′ written with the activation's output a, as the CPU kernels do.</summary>
    static string Derivative(BlockPlan block, string g, string a)
    {
        string p = Number(block.ActivationParameter) + "f";
        return block.Activation switch
        {
            ActivationKind.ReLU => $"{a} > 0f ? {g} : 0f",
            ActivationKind.LeakyReLU => $"{a} > 0f ? {g} : {p} * {g}",
            ActivationKind.ELU => $"{a} > 0f ? {g} : {g} * ({a} + {p})",
            ActivationKind.SELU => $"{a} > 0f ? {SeluScale} * {g} : {g} * ({a} + {SeluScaledAlpha})",
            ActivationKind.Sigmoid => $"{g} * {a} * (1f - {a})",
            ActivationKind.Tanh => $"{g} * (1f - {a} * {a})",
            _ => g,
        };
    }
}
