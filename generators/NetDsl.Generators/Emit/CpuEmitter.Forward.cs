using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

// The forward pass and the loss: one straight-line method, every fused step an epilogue struct.
internal static partial class CpuEmitter
{
    static void EmitForward(SourceWriter w, PassSchedule schedule)
    {
        var parameters = ForwardParameters(schedule.Plan).Select(p => $"{p.Type} {p.Name}");
        var method = w.Block($"static void Forward<T>({string.Join(", ", parameters)}) {ElementConstraint}");
        w.Line($"bool dropout = mode == {Runtime}PassMode.Training;");
        if (schedule.Plan.Blocks.Any(b => b.Kind == BlockKind.BatchNorm)) w.Line($"bool training = mode != {Runtime}PassMode.Inference;");
        w.Line("buffers.DropoutActive = dropout;");
        if (schedule.Plan.Blocks.Any(schedule.InferenceWritesNormalized)) w.Line("buffers.Folded = !folded.IsEmpty;");
        foreach (var block in schedule.Plan.Blocks)
        {
            w.Line($"// {Describe(block)}");
            if (schedule[block].RunsInsideOf >= 0)
            {
                w.Line($"// computed sample by sample in {schedule.Plan.Blocks[block.InputBlock].Name}'s loop, while its output is in cache");
                continue;
            }
            using var scope = w.Block("");
            string n = $"batch * {Width(block)}";
            w.Line($"var output = buffers.{block.Name}Output.AsSpan(0, {n});");
            if (block.KeepsActivation)
                w.Line($"var activation = dropout ? buffers.{block.Name}Activation.AsSpan(0, {n}) : output;");
            else if (!block.IsProduct || block.Activation == ActivationKind.Softmax)
                w.Line("var activation = output;");
            switch (block.Kind)
            {
                case BlockKind.Dense: EmitDenseForward(w, schedule, block); break;
                case BlockKind.Conv: EmitConvForward(w, schedule, block); break;
                case BlockKind.BatchNorm:
                    string common = $"batch, {block.Channels}, {block.Spatial}, parameters.Slice({block.Name}WeightOffset, {block.Channels}), parameters.Slice({block.Name}BiasOffset, {block.Channels})";
                    string running = $"statistics.Slice({block.StatisticsOffset}, {2 * block.Channels})";
                    // A ReLU right after it is taken in the pass that writes the output.
                    bool relu = block.Activation == ActivationKind.ReLU;
                    // Frozen, it normalizes with its running statistics and keeps them (PyTorch's eval() of the module).
                    w.Line($"if (training && frozen?.IsFrozen({block.Index}) == true)");
                    w.Line($"    {Kernels}BatchNormalization.FrozenForward({BlockInput(schedule, block)}, activation, {common}, buffers.{block.Name}Mean, buffers.{block.Name}InverseDeviation, {running}, {Number(block.Epsilon)}{(relu ? ", relu: true" : "")});");
                    w.Line("else if (training)");
                    w.Line($"    {Kernels}BatchNormalization.TrainingForward({BlockInput(schedule, block)}, activation, {common}, buffers.{block.Name}Mean, buffers.{block.Name}InverseDeviation, updateStatistics ? {running} : default, {Number(block.Momentum)}, {Number(block.Epsilon)}{(relu ? ", relu: true" : "")});");
                    // With folding on, the product before it already produced the normalized values: they are copied,
                    // per sample inside the convolution's loop where the schedule put them there.
                    bool inside = schedule[block].InferenceInsideOf >= 0;
                    w.Line(inside ? "else if (folded.IsEmpty)" : "else");
                    string normalized = !inside && block.InputBlock >= 0 && schedule.Plan.Blocks[block.InputBlock].IsFolded ? "!folded.IsEmpty" : "false";
                    w.Line($"    {Kernels}BatchNormalization.InferenceForward({BlockInput(schedule, block)}, activation, {common}, {running}, {Number(block.Epsilon)}, normalized: {normalized}, relu: {Bool(relu)});");
                    if (relu)
                    {
                        if (block.HasDropout) EmitDropoutOnWholeBatch(w, block, maskDrawn: false);
                    }
                    else EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.MaxPool:
                    // At inference with folding on, the convolution's loop pooled each sample already.
                    if (schedule[block].InferenceInsideOf >= 0) w.Line("if (training || folded.IsEmpty)");
                    w.Line($"{Kernels}Pooling.MaxForward({BlockInput(schedule, block)}, activation, buffers.{block.Name}Winners.AsSpan(0, {n}), batch, {GeometryOf(block)});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.AvgPool:
                    if (schedule[block].InferenceInsideOf >= 0) w.Line("if (training || folded.IsEmpty)");
                    w.Line($"{Kernels}Pooling.AverageForward({BlockInput(schedule, block)}, activation, batch, {GeometryOf(block)});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.Embedding:
                    w.Line($"{Kernels}Embedding.Forward({BlockInput(schedule, block)}, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), activation, batch, length: InputSize, dimension: {block.Channels}, vocabulary: {block.Vocabulary});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.PReLU:
                    w.Line($"{Kernels}Activations.PReLU({BlockInput(schedule, block)}, activation, parameters.Slice({block.Name}WeightOffset, {block.Channels}), batch, {block.Channels}, {block.Spatial});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.Concat:
                    int second = block.Outputs - block.FirstWidth;
                    w.Line($"{Kernels}Concatenation.Forward<T>({BlockInput(schedule, block)}, {OutputOf(schedule, block.SourceBlock, second)}, activation, batch, {block.FirstWidth}, {second});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.Add:
                    w.Line($"{BlockInput(schedule, block)}.CopyTo(activation);");
                    if (block.IsProjected) EmitProjectionForward(w, schedule, block);
                    else w.Line($"{Kernels}Arithmetic.Add(activation, {OutputOf(schedule, block.SourceBlock, block.Outputs)});");
                    EmitActivationAndDropout(w, block);
                    break;
                default:
                    w.Line($"{BlockInput(schedule, block)}.CopyTo(activation);");
                    EmitActivationAndDropout(w, block);
                    break;
            }
        }
        method.Dispose();
        w.Line();
    }

    /// <summary>The forward pass's parameters: what every pass reads, then only what this network's layers need (the
    /// dropout stream, BatchNorm's statistics, folded weights, the prediction products' weight copies).</summary>
    static IEnumerable<(string Type, string Name)> ForwardParameters(NetworkPlan plan)
    {
        yield return ($"{ReadOnlySpan}<T>", "parameters");
        yield return ("ActivationBuffers<T>", "buffers");
        yield return ($"{ReadOnlySpan}<T>", "inputs");
        yield return ("int", "batch");
        yield return ($"{Runtime}PassMode", "mode");
        if (plan.Blocks.Any(b => b.HasDropout))
        {
            yield return ("ulong", "dropoutSeed");
            yield return ("long", "dropoutFirstSample");
            yield return ($"{ReadOnlySpan}<double>", "dropoutRates");
        }
        if (plan.StatisticsCount > 0)
        {
            yield return ($"{Runtime}FrozenLayers?", "frozen");
            yield return ($"{Span}<float>", "statistics");
            yield return ("bool", "updateStatistics");
        }
        if (plan.FoldedCount > 0) yield return ($"{ReadOnlySpan}<T>", "folded");
        if (plan.WinogradBlocks.Any()) yield return ($"{ReadOnlySpan}<float>", "winograd");
        if (plan.DenseBlocks.Any())
        {
            yield return ($"{Kernels}QuantizedDense[]?", "quantized");
            yield return ($"{Kernels}InputMajorDense[]?", "inputMajor");
        }
    }

    /// <summary>A call of the forward pass with the arguments it takes, picked by name from what the caller has; an
    /// argument not named like its parameter (or its field) is passed by name.</summary>
    static string ForwardCall(NetworkPlan plan, string element, params (string Name, string Value)[] arguments) =>
        $"Forward<{element}>({string.Join(", ", ForwardParameters(plan).Select(p => arguments.Single(a => a.Name == p.Name)).Select(a => a.Value == a.Name || a.Value == "_" + a.Name ? a.Value : $"{a.Name}: {a.Value}"))});";

    static void EmitDenseForward(SourceWriter w, PassSchedule schedule, BlockPlan block)
    {
        EmitMaskBeforeProduct(w, block);
        w.Line($"var epilogue = new {block.Name}ForwardEpilogue<T> {{ {string.Join(", ", ForwardEpilogueFields(block, ""))} }};");
        // Predictions with int8 weights, and float predictions of a few rows, take the same epilogue after their own product.
        w.Line($"if (quantized is not null) {Kernels}QuantizedGemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({BlockInput(schedule, block)}, quantized[{DenseIndex(schedule, block)}], batch, ref epilogue);");
        w.Line($"else if (inputMajor is not null && batch < inputMajor[{DenseIndex(schedule, block)}].RowLimit) {Kernels}InputMajorGemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({BlockInput(schedule, block)}, inputMajor[{DenseIndex(schedule, block)}], batch, ref epilogue);");
        w.Line($"else {Kernels}Gemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({BlockInput(schedule, block)}, transposeA: false, {Weights(block)}, transposeB: true, batch, {Width(block)}, {InputWidth(schedule.Plan.Blocks, block)}, ref epilogue);");
        if (block.Activation == ActivationKind.Softmax)
        {
            w.Line($"{Kernels}Activations.SoftmaxRows(activation, {Width(block)});");
            if (block.HasDropout) EmitDropoutOnWholeBatch(w, block, maskDrawn: true);
        }
    }

    /// <summary>The Dense block's place among the network's Dense blocks: its slot in the int8 weights.</summary>
    static int DenseIndex(PassSchedule schedule, BlockPlan block) => schedule.Plan.DenseBlocks.ToList().IndexOf(block);

    static void EmitMaskBeforeProduct(SourceWriter w, BlockPlan block)
    {
        if (!block.HasDropout) return;
        w.Line($"var mask = buffers.{block.Name}Mask.AsSpan(0, batch * {Width(block)});");
        w.Line($"if (dropout) {Kernels}Dropout.FillMask(mask, dropoutRates[{block.DropoutIndex}], dropoutSeed, {block.Index}, firstElement: dropoutFirstSample * {Width(block)});");
    }

    static string Weights(BlockPlan block) => block.IsFolded
        ? $"(folded.IsEmpty ? parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength) : folded.Slice({block.FoldOffset}, {block.Name}WeightLength))"
        : $"parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength)";

    static IEnumerable<string> ForwardEpilogueFields(BlockPlan block, string slice)
    {
        if (block.HasBias) yield return $"Bias = parameters.Slice({block.Name}BiasOffset, {block.BiasLength})";
        if (block.IsFolded) yield return $"Bias = folded.IsEmpty ? default : folded.Slice({block.FoldOffset + block.WeightLength}, {block.Channels})";
        yield return $"Output = output{slice}";
        if (block.KeepsActivation || block.Activation == ActivationKind.Softmax) yield return $"Activation = activation{slice}";
        if (block.HasDropout && block.Activation != ActivationKind.Softmax)
        {
            yield return $"Mask = mask{slice}";
            yield return "Dropout = dropout";
        }
    }

    /// <summary>A core step's activation and dropout over the whole batch, for steps that are not a product.</summary>
    static void EmitActivationAndDropout(SourceWriter w, BlockPlan block)
    {
        if (block.Activation == ActivationKind.Softmax) w.Line($"{Kernels}Activations.SoftmaxRows(activation, {Width(block)});");
        else if (block.Activation != ActivationKind.None) w.Line(ActivationForward(block, "activation"));
        if (block.HasDropout) EmitDropoutOnWholeBatch(w, block, maskDrawn: false);
    }

    /// <summary>Dropout over the whole batch, for steps outside a product's epilogue. A Dense block drew its mask
    /// before the product.</summary>
    static void EmitDropoutOnWholeBatch(SourceWriter w, BlockPlan block, bool maskDrawn)
    {
        using var scope = w.Block("if (dropout)");
        if (!maskDrawn)
        {
            w.Line($"var mask = buffers.{block.Name}Mask.AsSpan(0, batch * {Width(block)});");
            w.Line($"{Kernels}Dropout.FillMask(mask, dropoutRates[{block.DropoutIndex}], dropoutSeed, {block.Index}, firstElement: dropoutFirstSample * {Width(block)});");
        }
        if (block.KeepsActivation) w.Line("activation.CopyTo(output);");
        w.Line($"{Kernels}Arithmetic.Multiply(output, mask);");
    }

    static void EmitLoss(SourceWriter w, PassSchedule schedule)
    {
        var last = schedule.Plan.Blocks.Last();
        var lastCore = schedule.Plan.Blocks.Last(b => b.IsCore);
        string kernel = schedule.Plan.Spec.Loss.ToString();
        string smoothing = schedule.Plan.Spec.Loss != Loss.MeanSquaredError && schedule.Plan.Spec.LabelSmoothing != 0 ? $", labelSmoothing: {Number(schedule.Plan.Spec.LabelSmoothing)}" : "";
        var method = w.Block(
            $"static double LossOf<T>(ActivationBuffers<T> buffers, {ReadOnlySpan}<T> targets, int batch, bool withGradient) {ElementConstraint}");
        w.Line($"// The gradient with respect to the network output lands in {lastCore.Name}'s gradient buffer; Backward turns it into its dZ.");
        w.Line($"var gradient = withGradient ? buffers.{lastCore.Name}Gradient.AsSpan(0, batch * OutputSize) : default;");
        w.Line($"return {Kernels}LossKernels.{kernel}<T>(buffers.{last.Name}Output.AsSpan(0, batch * OutputSize), targets, gradient, batch, OutputSize{smoothing});");
        method.Dispose();
        w.Line();
    }

    static string ActivationForward(BlockPlan block, string values) => block.Activation switch
    {
        ActivationKind.LeakyReLU or ActivationKind.ELU => $"{Kernels}Activations.{block.Activation}({values}, T.CreateTruncating({Number(block.ActivationParameter)}));",
        _ => $"{Kernels}Activations.{block.Activation}({values});",
    };

    /// <summary>A projected skip: each sample's 1×1 convolution of the source, with its bias, added onto the main path.</summary>
    static void EmitProjectionForward(SourceWriter w, PassSchedule schedule, BlockPlan add)
    {
        var g = add.Geometry;
        using (w.Block("for (int s = 0; s < batch; s++)"))
        {
            w.Line($"var projection = new {Kernels}AccumulateEpilogue<T>(activation.Slice(s * {Width(add)}, {Width(add)}), {g.OutputPixels}, parameters.Slice({add.Name}BiasOffset, {add.Name}BiasLength));");
            w.Line($"{Kernels}Convolution.Forward<T, {Kernels}AccumulateEpilogue<T>>(parameters.Slice({add.Name}WeightOffset, {add.Name}WeightLength), {OutputOf(schedule, add.SourceBlock, g.InputSize)}.Slice(s * {g.InputSize}, {g.InputSize}), buffers.{add.Name}Columns, {GeometryOf(add)}, filters: {add.Channels}, ref projection);");
        }
    }

    static string BlockInput(PassSchedule schedule, BlockPlan block) =>
        block.InputBlock < 0 ? "inputs" : $"buffers.{schedule.Plan.Blocks[block.InputBlock].Name}Output.AsSpan(0, batch * {InputWidth(schedule.Plan.Blocks, block)})";

    static string OutputOf(PassSchedule schedule, int block, int width) =>
        block < 0 ? "inputs" : $"buffers.{schedule.Plan.Blocks[block].Name}Output.AsSpan(0, batch * {width})";
}
