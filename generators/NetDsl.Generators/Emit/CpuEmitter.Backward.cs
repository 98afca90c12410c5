using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

// The backward pass: from the loss gradient back through every core block, each forming the dZ of the one before.
internal static partial class CpuEmitter
{
    static void EmitBackward(SourceWriter w, PassSchedule schedule)
    {
        var blocks = schedule.Plan.Blocks;
        var cores = blocks.Where(b => b.IsCore).ToList();
        string winograd = schedule.WinogradInputGradients.Any() ? $", {ReadOnlySpan}<float> winogradInputGradient" : "";
        using (w.Block($"static void Backward<T>({ReadOnlySpan}<T> parameters, ActivationBuffers<T> buffers, {ReadOnlySpan}<T> inputs, int batch, {Span}<T> gradients, T l1, T l2, {Runtime}FrozenLayers? frozen{winograd}) {ElementConstraint}"))
        {
            w.Line("bool dropout = buffers.DropoutActive;");
            var lastCore = blocks[schedule.Output.Core];
            var outputChain = schedule.Output.Steps;
            bool fusedSigmoid = schedule.Output.SigmoidInLoss;
            if (outputChain.Any(b => b.Activation != ActivationKind.None || b.HasDropout))
            {
                w.Line($"// dZ of {lastCore.Name} from the loss gradient, through the steps after its core");
                using var scope = w.Block("");
                w.Line($"var gradient = buffers.{lastCore.Name}Gradient.AsSpan(0, batch * {Width(lastCore)});");
                foreach (var step in outputChain) EmitWholeBatchBackwardStep(w, step);
            }
            else if (schedule.Plan.Spec.Loss != Loss.MeanSquaredError)
                w.Line($"// dZ of {lastCore.Name} is the fused {(fusedSigmoid ? "sigmoid binary cross-entropy gradient (ŷ − y) / (batch · outputs)" : "softmax cross-entropy gradient (ŷ − y) / batch")}.");

            for (int c = cores.Count - 1; c >= 0; c--)
            {
                var block = cores[c];
                // Below the lowest layer that trains, no gradient is needed.
                w.Line($"if (frozen is not null && frozen.FirstTrainableBlock > {block.Index}) return;");
                var previous = schedule.PreviousCore(block);
                bool needsInputGradient = previous is not null;
                switch (block.Kind)
                {
                    case BlockKind.Dense: EmitDenseBackward(w, schedule, block, needsInputGradient ? previous : null); break;
                    case BlockKind.Conv: EmitConvBackward(w, schedule, block, needsInputGradient ? previous : null); break;
                    case BlockKind.BatchNorm: EmitBatchNormBackward(w, schedule, block, needsInputGradient ? previous : null); break;
                    case BlockKind.Embedding:
                        // The first block: no input gradient; no weight decay either, as PyTorch leaves embeddings out of it.
                        w.Line($"// {block.Name}: the table's gradient, at the rows of the batch's ids");
                        w.Line($"{Kernels}Embedding.Backward<T>({BlockInput(schedule, block)}, buffers.{block.Name}Gradient.AsSpan(0, batch * {Width(block)}), gradients.Slice({block.Name}WeightOffset, {block.Name}WeightLength), batch, length: InputSize, dimension: {block.Channels});");
                        break;
                    case BlockKind.PReLU:
                        w.Line($"// {block.Name}: the slopes' gradient and the input's, from the pre-activation");
                        using (w.Block(""))
                        {
                            string ownGradient = $"buffers.{block.Name}Gradient.AsSpan(0, batch * {Width(block)})";
                            // Without an earlier step to receive it, the input gradient overwrites this block's own buffer.
                            w.Line($"var gradient = {(needsInputGradient ? $"buffers.{previous!.Name}Gradient.AsSpan(0, batch * {Width(previous)})" : ownGradient)};");
                            w.Line($"{Kernels}Activations.PReLUBackward<T>({ownGradient}, {BlockInput(schedule, block)}, parameters.Slice({block.Name}WeightOffset, {block.Channels}), gradient, gradients.Slice({block.Name}WeightOffset, {block.Channels}), batch, {block.Channels}, {block.Spatial});");
                            if (needsInputGradient) EmitGradientArrival(w, schedule, previous!, block);
                        }
                        break;
                    default:
                        if (block.IsProjected) EmitProjectionBackward(w, schedule, block);
                        if (!needsInputGradient) break;
                        string own = $"buffers.{block.Name}Gradient.AsSpan(0, batch * {Width(block)})";
                        w.Line($"// {block.Name}: {block.Kind switch { BlockKind.MaxPool => "route the gradient back to the winning inputs", BlockKind.AvgPool => "spread the gradient over the windows", BlockKind.Concat => $"its first {block.FirstWidth} values per sample go back to {previous!.Name}; the rest join {SourceName(schedule.Plan, block)}'s gradient where it is consumed", _ => $"the sum passes its gradient to both summands; the skip path takes it where {SourceName(schedule.Plan, block)} is consumed" }}");
                        using (w.Block(""))
                        {
                            w.Line($"var gradient = buffers.{previous!.Name}Gradient.AsSpan(0, batch * {Width(previous)});");
                            bool reluInside = schedule[block].ReluFoldedIntoRouting;
                            w.Line(block.Kind switch
                            {
                                BlockKind.MaxPool when reluInside => $"{Kernels}Pooling.MaxBackward<T>({own}, buffers.{block.Name}Winners.AsSpan(0, batch * {Width(block)}), gradient, batch, {GeometryOf(block)}, reluOutputs: buffers.{block.Name}Output.AsSpan(0, batch * {Width(block)})); // {previous.ActivationLayer}'s derivative at each winner",
                                BlockKind.MaxPool => $"{Kernels}Pooling.MaxBackward<T>({own}, buffers.{block.Name}Winners.AsSpan(0, batch * {Width(block)}), gradient, batch, {GeometryOf(block)});",
                                BlockKind.AvgPool => $"{Kernels}Pooling.AverageBackward<T>({own}, gradient, batch, {GeometryOf(block)});",
                                BlockKind.Concat => $"{Kernels}Concatenation.FirstGradient<T>({own}, gradient, batch, {block.FirstWidth}, {SecondWidth(block)});",
                                _ => $"{own}.CopyTo(gradient);",
                            });
                            if (!reluInside) EmitGradientArrival(w, schedule, previous, block);
                        }
                        break;
                }
            }
        }
        w.Line();
    }

    static void EmitDenseBackward(SourceWriter w, PassSchedule schedule, BlockPlan block, BlockPlan? previous)
    {
        w.Line($"// {block.Name}: dW{(block.HasBias ? " and db from one pass over dZ and the layer input (the ones column yields db)" : " from dZ and the layer input")}");
        using (w.Block(""))
        {
            w.Line($"var epilogue = new {Kernels}WeightGradientEpilogue<T>(gradients.Slice({block.Name}WeightOffset, {block.Name}WeightLength), {BiasGradient(block)}, {InputWidth(schedule.Plan.Blocks, block)}, false, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), l1, l2);");
            w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}WeightGradientEpilogue<T>>(buffers.{block.Name}Gradient.AsSpan(0, batch * {Width(block)}), transposeA: true, {BlockInput(schedule, block)}, transposeB: false, {Width(block)}, {InputWidth(schedule.Plan.Blocks, block)}, batch, ref epilogue, appendOnesColumn: {Bool(block.HasBias)});");
        }
        if (previous is null) return;
        var chain = schedule.StepsBetween(previous, block);
        w.Line($"// dZ of {previous.Name} = (dZ of {block.Name} · W) ⊙ each step's derivative, formed in the product's epilogue");
        using (w.Block(""))
        {
            string product = $"buffers.{block.Name}Gradient.AsSpan(0, batch * {Width(block)}), transposeA: false, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), transposeB: false, batch, {InputWidth(schedule.Plan.Blocks, block)}, {Width(block)}";
            if (!schedule[block].InputGradientInEpilogue)
            {
                w.Line($"var gradient = buffers.{previous.Name}Gradient.AsSpan(0, batch * {Width(previous)});");
                w.Line($"var epilogue = new {Kernels}StoreEpilogue<T>(gradient, {Width(previous)});");
                w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}StoreEpilogue<T>>({product}, ref epilogue);");
                EmitGradientArrival(w, schedule, previous, block);
                return;
            }
            var fields = new List<string> { $"Destination = buffers.{previous.Name}Gradient.AsSpan(0, batch * {Width(previous)})", "Dropout = dropout" };
            foreach (var skip in chain.SelectMany(schedule.SkipsAt)) fields.Add($"{skip.Name}Skip = {SkipGradient(skip)}");
            foreach (var step in chain)
            {
                if (step.HasDropout) fields.Add($"{step.Name}Mask = buffers.{step.Name}Mask.AsSpan(0, batch * {Width(step)})");
                if (step.Activation != ActivationKind.None) fields.Add($"{step.Name}Activation = {ActivationOutput(step)}");
            }
            w.Line($"var epilogue = new {block.Name}InputGradientEpilogue<T> {{ {string.Join(", ", fields)} }};");
            w.Line($"{Kernels}Gemm.Multiply<T, {block.Name}InputGradientEpilogue<T>>({product}, ref epilogue);");
        }
    }

    static void EmitBatchNormBackward(SourceWriter w, PassSchedule schedule, BlockPlan block, BlockPlan? previous)
    {
        w.Line($"// {block.Name}: dγ, dβ and the gradient of its input from its input, μ and 1/σ");
        using (w.Block(""))
        {
            w.Line($"var gradient = buffers.{block.Name}Gradient.AsSpan(0, batch * {Width(block)});");
            // The input gradient goes straight to the step before, or (with none) overwrites dy.
            string destination = previous is null ? "gradient" : $"buffers.{previous.Name}Gradient.AsSpan(0, batch * {Width(previous)})";
            w.Line($"if (frozen?.IsFrozen({block.Index}) == true) {Kernels}BatchNormalization.FrozenBackward<T>(gradient, {destination}, buffers.{block.Name}InverseDeviation, parameters.Slice({block.Name}WeightOffset, {block.Channels}), batch, {block.Channels}, {block.Spatial});");
            w.Line($"else {Kernels}BatchNormalization.Backward<T>(gradient, {destination}, {BlockInput(schedule, block)}, buffers.{block.Name}Mean, buffers.{block.Name}InverseDeviation, parameters.Slice({block.Name}WeightOffset, {block.Channels}), gradients.Slice({block.Name}WeightOffset, {block.Channels}), gradients.Slice({block.Name}BiasOffset, {block.Channels}), batch, {block.Channels}, {block.Spatial});");
        }
        if (previous is not null) EmitArrivalScope(w, schedule, previous, block);
    }

    static void EmitArrivalScope(SourceWriter w, PassSchedule schedule, BlockPlan previous, BlockPlan block)
    {
        var chain = schedule.StepsBetween(previous, block);
        if (!chain.Any(b => schedule.SkipsAt(b).Any() || b.Activation != ActivationKind.None || b.HasDropout)) return;
        using var scope = w.Block("");
        w.Line($"var gradient = buffers.{previous.Name}Gradient.AsSpan(0, batch * {Width(previous)});");
        EmitGradientArrival(w, schedule, previous, block);
    }

    /// <summary>The gradient <paramref name="block"/> sent back, now in <c>gradient</c>, becomes the dZ of
    /// <paramref name="previous"/>: walking back over each step between the two, the skip connections that added that
    /// step's output contribute their gradient, then the step applies its derivative.</summary>
    static void EmitGradientArrival(SourceWriter w, PassSchedule schedule, BlockPlan previous, BlockPlan block)
    {
        foreach (var step in schedule.StepsBetween(previous, block))
        {
            foreach (var skip in schedule.SkipsAt(step))
                w.Line(skip.Kind == BlockKind.Concat
                    ? $"{Kernels}Concatenation.AddSecondGradient<T>(gradient, buffers.{skip.Name}Gradient.AsSpan(0, batch * {Width(skip)}), batch, {skip.FirstWidth}, {SecondWidth(skip)}); // {skip.Name} joined {step.Name}'s output"
                    : $"{Kernels}Arithmetic.Add(gradient, {SkipGradient(skip)}); // {skip.Name} added {step.Name}'s output{(skip.IsProjected ? ", through its projection" : "")}");
            EmitWholeBatchBackwardStep(w, step);
        }
    }

    /// <summary>The gradient an Add's skip path sends back to its source: the Add's own, or, through a projection, the
    /// one its backward put back onto the source's maps.</summary>
    static string SkipGradient(BlockPlan add) =>
        $"buffers.{add.Name}{(add.IsProjected ? "ProjectedGradient" : "Gradient")}.AsSpan(0, batch * {(add.IsProjected ? add.Geometry.InputSize : Width(add))})";

    /// <summary>A projected skip's 1×1 convolution, sample by sample: its dW and db, and (where the source takes a
    /// gradient) the source's gradient through it, which the source's arrival adds.</summary>
    static void EmitProjectionBackward(SourceWriter w, PassSchedule schedule, BlockPlan add)
    {
        var g = add.Geometry;
        bool sourceGradient = schedule.SourceTakesGradient(add);
        w.Line($"// {add.Name}: the projection's dW and db, and {(sourceGradient ? $"the gradient it sends back to {schedule.Plan.Blocks[add.SourceBlock].Name}" : "no gradient for its source")}");
        using (w.Block("for (int s = 0; s < batch; s++)"))
        {
            string image = $"{OutputOf(schedule, add.SourceBlock, g.InputSize)}.Slice(s * {g.InputSize}, {g.InputSize})";
            string back = sourceGradient ? $"buffers.{add.Name}ProjectedGradient.AsSpan(s * {g.InputSize}, {g.InputSize})" : "default";
            w.Line($"{Kernels}Convolution.SampleBackward<T>(parameters.Slice({add.Name}WeightOffset, {add.Name}WeightLength), {image}, buffers.{add.Name}Gradient.AsSpan(s * {Width(add)}, {Width(add)}), buffers.{add.Name}Columns, buffers.{add.Name}ColumnGradient,");
            w.Line($"    gradients.Slice({add.Name}WeightOffset, {add.Name}WeightLength), gradients.Slice({add.Name}BiasOffset, {add.Name}BiasLength), {back}, {GeometryOf(add)}, filters: {add.Channels}, accumulate: s > 0, l1, l2);");
        }
    }

    /// <summary>A Concat's values per sample from its source, after its input's.</summary>
    static int SecondWidth(BlockPlan concat) => concat.Outputs - concat.FirstWidth;

    static string BiasGradient(BlockPlan block) =>
        block.HasBias ? $"gradients.Slice({block.Name}BiasOffset, {block.BiasLength})" : "default";

    /// <summary>One step's backward on the whole batch: dropout's mask, then the activation's derivative.</summary>
    static void EmitWholeBatchBackwardStep(SourceWriter w, BlockPlan step)
    {
        if (step.HasDropout) w.Line($"if (dropout) {Kernels}Arithmetic.Multiply(gradient, buffers.{step.Name}Mask.AsSpan(0, gradient.Length));");
        if (step.Activation == ActivationKind.Softmax)
            w.Line($"{Kernels}Activations.SoftmaxRowsBackward(gradient, {ActivationOutput(step)}, {Width(step)});");
        else if (step.Activation != ActivationKind.None)
            w.Line(ActivationBackward(step, "gradient", ActivationOutput(step)));
    }

    static string ActivationBackward(BlockPlan block, string gradient, string output) => block.Activation switch
    {
        ActivationKind.LeakyReLU or ActivationKind.ELU => $"{Kernels}Activations.{block.Activation}Backward({gradient}, {output}, T.CreateTruncating({Number(block.ActivationParameter)}));",
        _ => $"{Kernels}Activations.{block.Activation}Backward({gradient}, {output});",
    };

    /// <summary>The activation's output (before dropout), from which its derivative follows.</summary>
    static string ActivationOutput(BlockPlan step) => step.KeepsActivation
        ? $"(dropout ? buffers.{step.Name}Activation : buffers.{step.Name}Output).AsSpan(0, batch * {Width(step)})"
        : $"buffers.{step.Name}Output.AsSpan(0, batch * {Width(step)})";
}
