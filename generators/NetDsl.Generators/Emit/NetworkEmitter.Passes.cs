using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.Shared;

using NetDsl.Generators.Runtime;

namespace NetDsl.Generators.Emit;

// The passes: one straight-line method per direction, every size a literal, every fused step an epilogue struct.
internal static partial class NetworkEmitter
{
    static void EmitForward(SourceWriter w, PassSchedule schedule)
    {
        var method = w.Block(
            $"static void Forward<T>({ReadOnlySpan}<T> parameters, ActivationBuffers<T> buffers, {ReadOnlySpan}<T> inputs, int batch, {Runtime}PassMode mode, ulong dropoutSeed, {Span}<float> statistics, bool updateStatistics, {ReadOnlySpan}<T> folded, {ReadOnlySpan}<double> dropoutRates, {Kernels}QuantizedDense[]? quantized, {Kernels}InputMajorDense[]? inputMajor) {ElementConstraint}");
        w.Line($"bool dropout = mode == {Runtime}PassMode.Training;");
        if (schedule.Plan.Blocks.Any(b => b.Kind == BlockKind.BatchNorm)) w.Line($"bool training = mode != {Runtime}PassMode.Inference;");
        w.Line("buffers.DropoutActive = dropout;");
        foreach (var block in schedule.Plan.Blocks)
        {
            w.Line($"// {Describe(block)}");
            if (schedule[block].RunsInsideOf >= 0)
            {
                w.Line($"// computed sample by sample in {schedule.Plan.Blocks[block.InputBlock].Name}'s loop, while its output is in cache");
                continue;
            }
            using var scope = w.Block("");
            string n = $"batch * {block.Outputs}";
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
                    // A ReLU right after it is taken in the training pass that writes the output.
                    bool relu = block.Activation == ActivationKind.ReLU;
                    w.Line("if (training)");
                    w.Line($"    {Kernels}BatchNormalization.TrainingForward({BlockInput(schedule, block)}, activation, {common}, buffers.{block.Name}Mean, buffers.{block.Name}InverseDeviation, updateStatistics ? {running} : default, {Number(block.Momentum)}, {Number(block.Epsilon)}{(relu ? ", relu: true" : "")});");
                    using (w.Block("else"))
                    {
                        w.Line($"{BlockInput(schedule, block)}.CopyTo(activation);");
                        if (block.InputBlock >= 0 && schedule.Plan.Blocks[block.InputBlock].IsFolded)
                        {
                            w.Line($"// With folding on, {schedule.Plan.Blocks[block.InputBlock].Name} already produced the normalized values.");
                            w.Line("if (folded.IsEmpty)");
                            w.Line($"    {Kernels}BatchNormalization.InferenceForward(activation, {common}, {running}, {Number(block.Epsilon)});");
                        }
                        else w.Line($"{Kernels}BatchNormalization.InferenceForward(activation, {common}, {running}, {Number(block.Epsilon)});");
                        if (relu) w.Line(ActivationForward(block, "activation"));
                    }
                    if (relu)
                    {
                        if (block.HasDropout) EmitDropoutOnWholeBatch(w, block, maskDrawn: false);
                    }
                    else EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.MaxPool:
                    w.Line($"{Kernels}Pooling.MaxForward({BlockInput(schedule, block)}, activation, buffers.{block.Name}Winners.AsSpan(0, {n}), batch, {GeometryOf(block)});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.AvgPool:
                    w.Line($"{Kernels}Pooling.AverageForward({BlockInput(schedule, block)}, activation, batch, {GeometryOf(block)});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.PReLU:
                    w.Line($"{Kernels}Activations.PReLU({BlockInput(schedule, block)}, activation, parameters.Slice({block.Name}WeightOffset, {block.Channels}), batch, {block.Channels}, {block.Spatial});");
                    EmitActivationAndDropout(w, block);
                    break;
                case BlockKind.Add:
                    w.Line($"{BlockInput(schedule, block)}.CopyTo(activation);");
                    w.Line($"{Kernels}Arithmetic.Add(activation, {OutputOf(schedule, block.SourceBlock, block.Outputs)});");
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

    static void EmitDenseForward(SourceWriter w, PassSchedule schedule, BlockPlan block)
    {
        EmitMaskBeforeProduct(w, block);
        w.Line($"var epilogue = new {block.Name}ForwardEpilogue<T> {{ {string.Join(", ", ForwardEpilogueFields(block, ""))} }};");
        // Predictions with int8 weights, and float predictions of a few rows, take the same epilogue after their own product.
        w.Line($"if (quantized is not null) {Kernels}QuantizedGemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({BlockInput(schedule, block)}, quantized[{DenseIndex(schedule, block)}], batch, ref epilogue);");
        w.Line($"else if (inputMajor is not null && batch < inputMajor[{DenseIndex(schedule, block)}].RowLimit) {Kernels}InputMajorGemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({BlockInput(schedule, block)}, inputMajor[{DenseIndex(schedule, block)}], batch, ref epilogue);");
        w.Line($"else {Kernels}Gemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({BlockInput(schedule, block)}, false, {Weights(block)}, true, batch, {block.Outputs}, {block.Inputs}, ref epilogue);");
        if (block.Activation == ActivationKind.Softmax)
        {
            w.Line($"{Kernels}Activations.SoftmaxRows(activation, {block.Outputs});");
            if (block.HasDropout) EmitDropoutOnWholeBatch(w, block, maskDrawn: true);
        }
    }

    /// <summary>The Dense block's place among the network's Dense blocks: its slot in the int8 weights.</summary>
    static int DenseIndex(PassSchedule schedule, BlockPlan block) => schedule.Plan.DenseBlocks.ToList().IndexOf(block);

    // Z[F, OH·OW] = W[F, C·K·K] · im2col(x) per sample: the output lands in (channel, row, column) order directly.
    // The samples are shared between the cores by the block's loop struct (see EmitSampleLoops).
    static void EmitConvForward(SourceWriter w, PassSchedule schedule, BlockPlan block)
    {
        EmitMaskBeforeProduct(w, block);
        var fields = new[] { "parameters", "folded", "inputs", "buffers", "batch" }.Concat(ForwardSampleFields(block)).Select(field => $"{field} = {field}");
        w.Line($"var samples = new {block.Name}ForwardSamples<T> {{ {string.Join(", ", fields)} }};");
        w.Line($"{Kernels}WorkSharing.ForSamples(ref samples, batch, {ConvWork(block)});");
    }

    /// <summary>The pass's locals a convolution's per-sample forward body reads.</summary>
    static IEnumerable<string> ForwardSampleFields(BlockPlan block)
    {
        yield return "output";
        if (block.KeepsActivation || block.Activation == ActivationKind.Softmax) yield return "activation";
        if (block.HasDropout && block.Activation != ActivationKind.Softmax)
        {
            yield return "mask";
            yield return "dropout";
        }
    }

    /// <summary>Multiply-adds of one sample's convolution product.</summary>
    static long ConvWork(BlockPlan block) => (long)block.Channels * block.Geometry!.OutputPixels * block.Geometry.PatchSize;

    static void EmitConvForwardSample(SourceWriter w, PassSchedule schedule, BlockPlan block)
    {
        var g = block.Geometry!;
        int patch = g.PatchSize * g.OutputPixels;
        EmitIm2Col(w, schedule, block);
        w.Line($"var epilogue = new {block.Name}ForwardEpilogue<T> {{ {string.Join(", ", ForwardEpilogueFields(block, $".Slice(s * {block.Outputs}, {block.Outputs})"))} }};");
        w.Line($"{Kernels}Gemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({Weights(block)}, false, columns, false, {block.Channels}, {g.OutputPixels}, {g.PatchSize}, ref epilogue);");
        if (schedule.PoolInside(block) is { } pool)
        {
            string sample = $".Slice(s * {block.Outputs}, {block.Outputs})";
            string pooled = $"buffers.{pool.Name}Output.AsSpan(s * {pool.Outputs}, {pool.Outputs})";
            w.Line(pool.Kind == BlockKind.MaxPool
                ? $"{Kernels}Pooling.MaxForward(output{sample}, {pooled}, buffers.{pool.Name}Winners.AsSpan(s * {pool.Outputs}, {pool.Outputs}), 1, {GeometryOf(pool)});"
                : $"{Kernels}Pooling.AverageForward(output{sample}, {pooled}, 1, {GeometryOf(pool)});");
        }
    }

    /// <summary>A sample's patch matrix, built in its core's own columns buffer: it stays in L2 for the product that
    /// reads it, and backward builds it again rather than keeping every sample's (the batch's would be several times
    /// the activations, written once and read once from memory).</summary>
    static void EmitIm2Col(SourceWriter w, PassSchedule schedule, BlockPlan block)
    {
        int patch = block.Geometry!.PatchSize * block.Geometry.OutputPixels;
        w.Line($"var columns = buffers.{block.Name}Columns.AsSpan(part * {patch}, {patch});");
        w.Line($"{Kernels}Convolution.Im2Col({BlockInput(schedule, block)}.Slice(s * {block.Inputs}, {block.Inputs}), columns, {GeometryOf(block)});");
    }

    /// <summary>One struct per convolution and direction holding what its per-sample body reads, so the samples can be
    /// shared between the cores without a closure. Its fields carry the names of the pass's locals, so the body reads as
    /// it would inline.</summary>
    static void EmitSampleLoops(SourceWriter w, PassSchedule schedule)
    {
        var cores = schedule.Plan.Blocks.Where(b => b.IsCore).ToList();
        foreach (var block in schedule.Plan.Blocks.Where(b => b.Kind == BlockKind.Conv))
        {
            w.Line($"/// <summary>{block.Name}'s forward pass for a range of samples: im2col, the product with its epilogue{(schedule.PoolInside(block) is not null ? ", the pooling that follows" : "")}.</summary>");
            w.Line(GeneratedCode);
            using (w.Block($"ref struct {block.Name}ForwardSamples<T> : {Kernels}ISampleLoop {ElementConstraint}"))
            {
                w.Line($"public {ReadOnlySpan}<T> parameters, folded, inputs;");
                w.Line("public ActivationBuffers<T> buffers;");
                w.Line("public int batch;");
                foreach (var field in ForwardSampleFields(block))
                    w.Line(field == "dropout" ? "public bool dropout;" : $"public {Span}<T> {field};");
                w.Line();
                using (w.Block("public void Run(int first, int last, int part)"))
                using (w.Block("for (int s = first; s < last; s++)"))
                    EmitConvForwardSample(w, schedule, block);
            }
            w.Line();

            var previous = schedule.PreviousCore(block);
            w.Line($"/// <summary>{block.Name}'s backward pass for a range of samples: part 0 sums dW{(block.HasBias ? " and db" : "")} into the gradient, part 1 into {block.Name}PartialGradient{(previous is null ? "" : $"; each sample's input gradient goes to {previous.Name} through col2im")}.</summary>");
            w.Line(GeneratedCode);
            using (w.Block($"ref struct {block.Name}BackwardSamples<T> : {Kernels}ISampleLoop {ElementConstraint}"))
            {
                w.Line($"public {ReadOnlySpan}<T> parameters, inputs;");
                w.Line($"public {Span}<T> gradients;");
                w.Line("public ActivationBuffers<T> buffers;");
                w.Line("public int batch;");
                w.Line("public T l1, l2;");
                w.Line();
                using (w.Block("public void Run(int first, int last, int part)"))
                {
                    var g = block.Geometry!;
                    int patch = g.PatchSize * g.OutputPixels;
                    string partial = $"buffers.{block.Name}PartialGradient";
                    w.Line($"var weightGradient = part == 0 ? gradients.Slice({block.Name}WeightOffset, {block.Name}WeightLength) : {partial}.AsSpan(0, {block.Name}WeightLength);");
                    bool transposed = schedule[block].WeightGradient == WeightGradientForm.Transposed;
                    if (!transposed)
                        w.Line(block.HasBias
                            ? $"var biasGradient = part == 0 ? gradients.Slice({block.Name}BiasOffset, {block.BiasLength}) : {partial}.AsSpan({block.Name}WeightLength, {block.BiasLength});"
                            : $"var biasGradient = default({Span}<T>);");
                    w.Line("// Regularization joins the weight gradient once, in part 0.");
                    w.Line("T partL1 = part == 0 ? l1 : T.Zero, partL2 = part == 0 ? l2 : T.Zero;");
                    if (previous is not null) w.Line($"var columnGradient = buffers.{block.Name}ColumnGradient.AsSpan(part * {patch}, {patch});");
                    using (w.Block("for (int s = first; s < last; s++)"))
                    {
                        EmitIm2Col(w, schedule, block);
                        w.Line($"var dz = buffers.{block.Name}Gradient.AsSpan(s * {block.Outputs}, {block.Outputs});");
                        if (transposed)
                        {
                            w.Line($"// dWᵀ = columns · dzᵀ: the {block.Channels} filters as the product's columns, not the {g.PatchSize} patch rows padded to a panel.");
                            w.Line($"var epilogue = new {Kernels}TransposedWeightGradientEpilogue<T>(weightGradient, {g.PatchSize}, accumulate: s > first, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), partL1, partL2);");
                            w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}TransposedWeightGradientEpilogue<T>>(columns, false, dz, true, {g.PatchSize}, {block.Channels}, {g.OutputPixels}, ref epilogue);");
                        }
                        else
                        {
                            w.Line($"var epilogue = new {Kernels}WeightGradientEpilogue<T>(weightGradient, biasGradient, {g.PatchSize}, accumulate: s > first, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), partL1, partL2);");
                            w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}WeightGradientEpilogue<T>>(dz, false, columns, true, {block.Channels}, {g.PatchSize}, {g.OutputPixels}, ref epilogue, appendOnesColumn: {Bool(block.HasBias)});");
                        }
                        if (previous is null) continue;
                        w.Line($"var store = new {Kernels}StoreEpilogue<T>(columnGradient, {g.OutputPixels});");
                        w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}StoreEpilogue<T>>(parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), true, dz, false, {g.PatchSize}, {g.OutputPixels}, {block.Channels}, ref store);");
                        w.Line($"var image = buffers.{previous.Name}Gradient.AsSpan(s * {block.Inputs}, {block.Inputs});");
                        w.Line($"{Kernels}Convolution.Col2Im<T>(columnGradient, image, {GeometryOf(block)});");
                    }
                }
            }
            w.Line();
        }
    }

    static void EmitMaskBeforeProduct(SourceWriter w, BlockPlan block)
    {
        if (!block.HasDropout) return;
        w.Line($"var mask = buffers.{block.Name}Mask.AsSpan(0, batch * {block.Outputs});");
        w.Line($"if (dropout) {Kernels}Dropout.FillMask(mask, dropoutRates[{block.DropoutIndex}], dropoutSeed, {block.Index});");
    }

    /// <summary>The product's weights; a folded product takes its folded copy at inference.</summary>
    static string NoBias(BlockPlan block) => block.HasBias ? "" : block.IsFolded ? " (no bias: BatchNorm follows)" : " (no bias)";

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
        if (block.Activation == ActivationKind.Softmax) w.Line($"{Kernels}Activations.SoftmaxRows(activation, {block.Outputs});");
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
            w.Line($"var mask = buffers.{block.Name}Mask.AsSpan(0, batch * {block.Outputs});");
            w.Line($"{Kernels}Dropout.FillMask(mask, dropoutRates[{block.DropoutIndex}], dropoutSeed, {block.Index});");
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

    static void EmitBackward(SourceWriter w, PassSchedule schedule)
    {
        var blocks = schedule.Plan.Blocks;
        var cores = blocks.Where(b => b.IsCore).ToList();
        using (w.Block($"static void Backward<T>({ReadOnlySpan}<T> parameters, ActivationBuffers<T> buffers, {ReadOnlySpan}<T> inputs, int batch, {Span}<T> gradients, T l1, T l2) {ElementConstraint}"))
        {
            w.Line("bool dropout = buffers.DropoutActive;");
            var lastCore = blocks[schedule.Output.Core];
            var outputChain = schedule.Output.Steps;
            bool fusedSigmoid = schedule.Output.SigmoidInLoss;
            if (outputChain.Any(b => b.Activation != ActivationKind.None || b.HasDropout))
            {
                w.Line($"// dZ of {lastCore.Name} from the loss gradient, through the steps after its core");
                using var scope = w.Block("");
                w.Line($"var gradient = buffers.{lastCore.Name}Gradient.AsSpan(0, batch * {lastCore.Outputs});");
                foreach (var step in outputChain) EmitWholeBatchBackwardStep(w, step);
            }
            else if (schedule.Plan.Spec.Loss != Loss.MeanSquaredError)
                w.Line($"// dZ of {lastCore.Name} is the fused {(fusedSigmoid ? "sigmoid binary cross-entropy gradient (ŷ − y) / (batch · outputs)" : "softmax cross-entropy gradient (ŷ − y) / batch")}.");

            for (int c = cores.Count - 1; c >= 0; c--)
            {
                var block = cores[c];
                var previous = schedule.PreviousCore(block);
                bool needsInputGradient = previous is not null;
                switch (block.Kind)
                {
                    case BlockKind.Dense: EmitDenseBackward(w, schedule, block, needsInputGradient ? previous : null); break;
                    case BlockKind.Conv: EmitConvBackward(w, schedule, block, needsInputGradient ? previous : null); break;
                    case BlockKind.BatchNorm: EmitBatchNormBackward(w, schedule, block, needsInputGradient ? previous : null); break;
                    case BlockKind.PReLU:
                        w.Line($"// {block.Name}: the slopes' gradient and the input's, from the pre-activation");
                        using (w.Block(""))
                        {
                            string ownGradient = $"buffers.{block.Name}Gradient.AsSpan(0, batch * {block.Outputs})";
                            // Without an earlier step to receive it, the input gradient overwrites this block's own buffer.
                            w.Line($"var gradient = {(needsInputGradient ? $"buffers.{previous!.Name}Gradient.AsSpan(0, batch * {previous.Outputs})" : ownGradient)};");
                            w.Line($"{Kernels}Activations.PReLUBackward<T>({ownGradient}, {BlockInput(schedule, block)}, parameters.Slice({block.Name}WeightOffset, {block.Channels}), gradient, gradients.Slice({block.Name}WeightOffset, {block.Channels}), batch, {block.Channels}, {block.Spatial});");
                            if (needsInputGradient) EmitGradientArrival(w, schedule, previous!, block);
                        }
                        break;
                    default:
                        if (!needsInputGradient) break;
                        string own = $"buffers.{block.Name}Gradient.AsSpan(0, batch * {block.Outputs})";
                        w.Line($"// {block.Name}: {block.Kind switch { BlockKind.MaxPool => "route the gradient back to the winning inputs", BlockKind.AvgPool => "spread the gradient over the windows", _ => $"the sum passes its gradient to both summands; the skip path takes it where {Source(schedule, block)} is consumed" }}");
                        using (w.Block(""))
                        {
                            w.Line($"var gradient = buffers.{previous!.Name}Gradient.AsSpan(0, batch * {previous.Outputs});");
                            bool reluInside = schedule[block].ReluFoldedIntoRouting;
                            w.Line(block.Kind switch
                            {
                                BlockKind.MaxPool when reluInside => $"{Kernels}Pooling.MaxBackward<T>({own}, buffers.{block.Name}Winners.AsSpan(0, batch * {block.Outputs}), gradient, batch, {GeometryOf(block)}, reluOutputs: buffers.{block.Name}Output.AsSpan(0, batch * {block.Outputs})); // {previous.ActivationLayer}'s derivative at each winner",
                                BlockKind.MaxPool => $"{Kernels}Pooling.MaxBackward<T>({own}, buffers.{block.Name}Winners.AsSpan(0, batch * {block.Outputs}), gradient, batch, {GeometryOf(block)});",
                                BlockKind.AvgPool => $"{Kernels}Pooling.AverageBackward<T>({own}, gradient, batch, {GeometryOf(block)});",
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
            w.Line($"var epilogue = new {Kernels}WeightGradientEpilogue<T>(gradients.Slice({block.Name}WeightOffset, {block.Name}WeightLength), {BiasGradient(block)}, {block.Inputs}, false, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), l1, l2);");
            w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}WeightGradientEpilogue<T>>(buffers.{block.Name}Gradient.AsSpan(0, batch * {block.Outputs}), true, {BlockInput(schedule, block)}, false, {block.Outputs}, {block.Inputs}, batch, ref epilogue, appendOnesColumn: {Bool(block.HasBias)});");
        }
        if (previous is null) return;
        var chain = schedule.StepsBetween(previous, block);
        w.Line($"// dZ of {previous.Name} = (dZ of {block.Name} · W) ⊙ each step's derivative, formed in the product's epilogue");
        using (w.Block(""))
        {
            string product = $"buffers.{block.Name}Gradient.AsSpan(0, batch * {block.Outputs}), false, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), false, batch, {block.Inputs}, {block.Outputs}";
            if (!schedule[block].InputGradientInEpilogue)
            {
                w.Line($"var gradient = buffers.{previous.Name}Gradient.AsSpan(0, batch * {previous.Outputs});");
                w.Line($"var epilogue = new {Kernels}StoreEpilogue<T>(gradient, {previous.Outputs});");
                w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}StoreEpilogue<T>>({product}, ref epilogue);");
                EmitGradientArrival(w, schedule, previous, block);
                return;
            }
            var fields = new List<string> { $"Destination = buffers.{previous.Name}Gradient.AsSpan(0, batch * {previous.Outputs})", "Dropout = dropout" };
            foreach (var skip in chain.SelectMany(schedule.SkipsAt)) fields.Add($"{skip.Name}Skip = buffers.{skip.Name}Gradient.AsSpan(0, batch * {skip.Outputs})");
            foreach (var step in chain)
            {
                if (step.HasDropout) fields.Add($"{step.Name}Mask = buffers.{step.Name}Mask.AsSpan(0, batch * {step.Outputs})");
                if (step.Activation != ActivationKind.None) fields.Add($"{step.Name}Activation = {ActivationOutput(step)}");
            }
            w.Line($"var epilogue = new {block.Name}InputGradientEpilogue<T> {{ {string.Join(", ", fields)} }};");
            w.Line($"{Kernels}Gemm.Multiply<T, {block.Name}InputGradientEpilogue<T>>({product}, ref epilogue);");
        }
    }

    // dW = Σ_s dZ_s · columns_sᵀ (the ones column adds db); dcolumns_s = Wᵀ · dZ_s, added back onto the image by col2im.
    static void EmitConvBackward(SourceWriter w, PassSchedule schedule, BlockPlan block, BlockPlan? previous)
    {
        w.Line($"// {block.Name}: dW{(block.HasBias ? " and db" : "")} summed over samples{(previous is null ? "" : $", and the gradient of {previous.Name} through col2im")}");
        using (w.Block(""))
        {
            w.Line($"var samples = new {block.Name}BackwardSamples<T> {{ parameters = parameters, inputs = inputs, gradients = gradients, buffers = buffers, batch = batch, l1 = l1, l2 = l2 }};");
            using (w.Block($"if ({Kernels}WorkSharing.ForSamples(ref samples, batch, {2 * ConvWork(block)}))"))
            {
                w.Line("// The second core summed its samples apart; add them in.");
                w.Line($"{Kernels}Arithmetic.Add(gradients.Slice({block.Name}WeightOffset, {block.Name}WeightLength), buffers.{block.Name}PartialGradient.AsSpan(0, {block.Name}WeightLength));");
                if (block.HasBias)
                    w.Line($"{Kernels}Arithmetic.Add(gradients.Slice({block.Name}BiasOffset, {block.BiasLength}), buffers.{block.Name}PartialGradient.AsSpan({block.Name}WeightLength, {block.BiasLength}));");
            }
        }
        if (previous is not null) EmitArrivalScope(w, schedule, previous, block);
    }

    static void EmitBatchNormBackward(SourceWriter w, PassSchedule schedule, BlockPlan block, BlockPlan? previous)
    {
        w.Line($"// {block.Name}: dγ, dβ and the gradient of its input from its input, μ and 1/σ");
        using (w.Block(""))
        {
            w.Line($"var gradient = buffers.{block.Name}Gradient.AsSpan(0, batch * {block.Outputs});");
            // The input gradient goes straight to the step before, or (with none) overwrites dy.
            string destination = previous is null ? "gradient" : $"buffers.{previous.Name}Gradient.AsSpan(0, batch * {previous.Outputs})";
            w.Line($"{Kernels}BatchNormalization.Backward<T>(gradient, {destination}, {BlockInput(schedule, block)}, buffers.{block.Name}Mean, buffers.{block.Name}InverseDeviation, parameters.Slice({block.Name}WeightOffset, {block.Channels}), gradients.Slice({block.Name}WeightOffset, {block.Channels}), gradients.Slice({block.Name}BiasOffset, {block.Channels}), batch, {block.Channels}, {block.Spatial});");
        }
        if (previous is not null) EmitArrivalScope(w, schedule, previous, block);
    }

    static void EmitArrivalScope(SourceWriter w, PassSchedule schedule, BlockPlan previous, BlockPlan block)
    {
        var chain = schedule.StepsBetween(previous, block);
        if (!chain.Any(b => schedule.SkipsAt(b).Any() || b.Activation != ActivationKind.None || b.HasDropout)) return;
        using var scope = w.Block("");
        w.Line($"var gradient = buffers.{previous.Name}Gradient.AsSpan(0, batch * {previous.Outputs});");
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
                w.Line($"{Kernels}Arithmetic.Add(gradient, buffers.{skip.Name}Gradient.AsSpan(0, gradient.Length)); // {skip.Name} added {step.Name}'s output");
            EmitWholeBatchBackwardStep(w, step);
        }
    }

    static string Source(PassSchedule schedule, BlockPlan add) => add.SourceBlock < 0 ? "the network input" : schedule.Plan.Blocks[add.SourceBlock].Name;

    static string OutputOf(PassSchedule schedule, int block, int width) =>
        block < 0 ? "inputs" : $"buffers.{schedule.Plan.Blocks[block].Name}Output.AsSpan(0, batch * {width})";

    static string BiasGradient(BlockPlan block) =>
        block.HasBias ? $"gradients.Slice({block.Name}BiasOffset, {block.BiasLength})" : "default";

    static string Bool(bool value) => value ? "true" : "false";

    /// <summary>One step's backward on the whole batch: dropout's mask, then the activation's derivative.</summary>
    static void EmitWholeBatchBackwardStep(SourceWriter w, BlockPlan step)
    {
        if (step.HasDropout) w.Line($"if (dropout) {Kernels}Arithmetic.Multiply(gradient, buffers.{step.Name}Mask.AsSpan(0, gradient.Length));");
        if (step.Activation == ActivationKind.Softmax)
            w.Line($"{Kernels}Activations.SoftmaxRowsBackward(gradient, {ActivationOutput(step)}, {step.Outputs});");
        else if (step.Activation != ActivationKind.None)
            w.Line(ActivationBackward(step, "gradient", ActivationOutput(step)));
    }

    static string ActivationForward(BlockPlan block, string values) => block.Activation switch
    {
        ActivationKind.LeakyReLU or ActivationKind.ELU => $"{Kernels}Activations.{block.Activation}({values}, T.CreateTruncating({Number(block.ActivationParameter)}));",
        _ => $"{Kernels}Activations.{block.Activation}({values});",
    };

    static string ActivationBackward(BlockPlan block, string gradient, string output) => block.Activation switch
    {
        ActivationKind.LeakyReLU or ActivationKind.ELU => $"{Kernels}Activations.{block.Activation}Backward({gradient}, {output}, T.CreateTruncating({Number(block.ActivationParameter)}));",
        _ => $"{Kernels}Activations.{block.Activation}Backward({gradient}, {output});",
    };

    /// <summary>The activation's output (before dropout), from which its derivative follows.</summary>
    static string ActivationOutput(BlockPlan step) => step.KeepsActivation
        ? $"(dropout ? buffers.{step.Name}Activation : buffers.{step.Name}Output).AsSpan(0, batch * {step.Outputs})"
        : $"buffers.{step.Name}Output.AsSpan(0, batch * {step.Outputs})";

    static string GeometryOf(BlockPlan block)
    {
        var g = block.Geometry!;
        return $"new {Kernels}ConvGeometry({g.Channels}, {g.Height}, {g.Width}, {g.KernelHeight}, {g.KernelWidth}, {g.Stride}, {g.PadTop}, {g.PadLeft}, {g.OutputHeight}, {g.OutputWidth})";
    }

    static void EmitBuffers(SourceWriter w, PassSchedule schedule)
    {
        using (w.Block("ActivationBuffers<float> FloatBuffers(int batch)"))
        {
            w.Line("_lastBatch = batch;");
            w.Line("return _floatBuffers is { } buffers && buffers.Capacity >= batch ? buffers : _floatBuffers = new(batch);");
        }
        w.Line();
        w.Line("ActivationBuffers<double> DoubleBuffers(int batch) =>");
        w.Line("    _doubleBuffers is { } buffers && buffers.Capacity >= batch ? buffers : _doubleBuffers = new(batch);");
        w.Line();
        w.Line("/// <summary>What the passes cache, sized for the largest batch asked for so far; a larger batch replaces it once.</summary>");
        w.Line(GeneratedCode);
        using (w.Block("sealed class ActivationBuffers<T>(int capacity) where T : unmanaged"))
        {
            w.Line("public readonly int Capacity = capacity;");
            w.Line("public bool DropoutActive;");
            foreach (var block in schedule.Plan.Blocks)
            {
                void Buffer(string suffix, string size) => w.Line($"public readonly T[] {block.Name}{suffix} = new T[{size}];");
                string perBatch = $"capacity * {block.Outputs}";
                // Per-batch buffers start on a cache line (rows of a product's output then do too where their width allows).
                void BatchBuffer(string suffix) => w.Line($"public readonly {Kernels}AlignedBuffer<T> {block.Name}{suffix} = new({perBatch});");
                BatchBuffer("Output");
                if (block.KeepsActivation) BatchBuffer("Activation");
                if (block.HasDropout) BatchBuffer("Mask");
                if (block.IsCore) BatchBuffer("Gradient");
                if (block.Kind == BlockKind.Conv)
                {
                    int patch = block.Geometry!.PatchSize * block.Geometry.OutputPixels;
                    // One patch matrix, one column gradient and one partial dW per core (see the block's sample loops).
                    Buffer("Columns", $"2 * {patch}");
                    Buffer("ColumnGradient", $"2 * {patch}");
                    Buffer("PartialGradient", $"{block.WeightLength + block.BiasLength}");
                }
                if (block.Kind == BlockKind.BatchNorm)
                {
                    Buffer("Mean", $"{block.Channels}");
                    Buffer("InverseDeviation", $"{block.Channels}");
                }
                if (block.Kind == BlockKind.MaxPool) Buffer("Winners", perBatch);
            }
        }
        w.Line();
    }

    static void EmitEpilogues(SourceWriter w, PassSchedule schedule)
    {
        foreach (var block in schedule.Plan.Blocks.Where(b => b.IsProduct))
        {
            bool conv = block.Kind == BlockKind.Conv;
            int rowWidth = conv ? block.Geometry!.OutputPixels : block.Outputs;
            string steps = string.Join(", ", new[]
            {
                block.HasBias ? "bias" : null,
                block.Activation is ActivationKind.None or ActivationKind.Softmax ? null : block.Activation.ToString(),
                block.HasDropout && block.Activation != ActivationKind.Softmax ? "dropout" : null,
            }.Where(s => s is not null));
            w.Line($"/// <summary>{Describe(block)}: {(steps.Length == 0 ? "stores" : steps + " on")} each tile of the product{(conv ? " (rows are filters, columns pixels)" : "")}.</summary>");
            w.Line(GeneratedCode);
            using (w.Block($"ref struct {block.Name}ForwardEpilogue<T> : {Kernels}IGemmEpilogue<T> {ElementConstraint}"))
            {
                if (block.HasBias || block.IsFolded) w.Line($"public {ReadOnlySpan}<T> Bias;");
                w.Line($"public {Span}<T> Output;");
                bool softmax = block.Activation == ActivationKind.Softmax;
                if (block.KeepsActivation || softmax) w.Line($"public {Span}<T> Activation;");
                if (block.HasDropout && !softmax) w.Lines($"public {ReadOnlySpan}<T> Mask;", "public bool Dropout;");
                w.Line();
                using (w.Block($"public void Apply(int row, int column, scoped {Span}<T> values)"))
                {
                    w.Line($"int at = row * {rowWidth} + column;");
                    string addBias = conv
                        ? $"{Kernels}Arithmetic.AddScalar(values, Bias[row]);"
                        : $"{Kernels}Arithmetic.Add(values, Bias.Slice(column, values.Length));";
                    if (block.HasBias) w.Line(addBias);
                    if (block.IsFolded) w.Line($"if (!Bias.IsEmpty) {addBias} // the folded BatchNorm's shift, at inference");
                    if (softmax)
                    {
                        w.Line($"{Kernels}Arithmetic.Store(values, Activation, at);");
                        continue;
                    }
                    if (block.Activation != ActivationKind.None) w.Line(ActivationForward(block, "values"));
                    if (block.HasDropout)
                        using (w.Block("if (Dropout)"))
                        {
                            if (block.KeepsActivation) w.Line($"{Kernels}Arithmetic.Store(values, Activation, at);");
                            w.Line($"{Kernels}Arithmetic.Multiply(values, Mask.Slice(at, values.Length));");
                        }
                    w.Line($"{Kernels}Arithmetic.Store(values, Output, at);");
                }
            }
            w.Line();
        }

        foreach (var block in schedule.Plan.Blocks.Where(b => schedule[b].InputGradientInEpilogue))
        {
            if (schedule.PreviousCore(block) is not { } previous) continue;
            var chain = schedule.StepsBetween(previous, block);
            string steps = chain.Any(b => b.HasDropout || b.Activation != ActivationKind.None) ? string.Join(", then ", chain.Select(StepText)) : "stores it";
            w.Line($"/// <summary>Forms dZ of {previous.Name} on each tile of dZ({block.Name})·W: {steps}.</summary>");
            w.Line(GeneratedCode);
            using (w.Block($"ref struct {block.Name}InputGradientEpilogue<T> : {Kernels}IGemmEpilogue<T> {ElementConstraint}"))
            {
                w.Line($"public {Span}<T> Destination;");
                w.Line("public bool Dropout;");
                foreach (var skip in chain.SelectMany(schedule.SkipsAt)) w.Line($"public {ReadOnlySpan}<T> {skip.Name}Skip;");
                foreach (var step in chain)
                {
                    if (step.HasDropout) w.Line($"public {ReadOnlySpan}<T> {step.Name}Mask;");
                    if (step.Activation != ActivationKind.None) w.Line($"public {ReadOnlySpan}<T> {step.Name}Activation;");
                }
                w.Line();
                using (w.Block($"public void Apply(int row, int column, scoped {Span}<T> values)"))
                {
                    w.Line($"int at = row * {previous.Outputs} + column;");
                    foreach (var step in chain)
                    {
                        foreach (var skip in schedule.SkipsAt(step))
                            w.Line($"{Kernels}Arithmetic.Add(values, {skip.Name}Skip.Slice(at, values.Length));");
                        if (step.HasDropout) w.Line($"if (Dropout) {Kernels}Arithmetic.Multiply(values, {step.Name}Mask.Slice(at, values.Length));");
                        if (step.Activation != ActivationKind.None)
                            w.Line(ActivationBackward(step, "values", $"{step.Name}Activation.Slice(at, values.Length)"));
                    }
                    w.Line($"{Kernels}Arithmetic.Store(values, Destination, at);");
                }
            }
            w.Line();
        }
    }

    static string StepText(BlockPlan step)
    {
        var parts = new List<string>();
        if (step.HasDropout) parts.Add($"{step.DropoutLayer}'s mask");
        if (step.Activation != ActivationKind.None) parts.Add($"{step.ActivationLayer}′");
        return parts.Count == 0 ? "copy" : string.Join(", ", parts);
    }

    static string BlockInput(PassSchedule schedule, BlockPlan block) =>
        block.InputBlock < 0 ? "inputs" : $"buffers.{schedule.Plan.Blocks[block.InputBlock].Name}Output.AsSpan(0, batch * {block.Inputs})";

    static string Describe(BlockPlan block)
    {
        string core = block.Kind switch
        {
            BlockKind.Dense => $"Dense {block.Inputs} → {block.Outputs}{NoBias(block)}",
            BlockKind.Conv => $"Conv2D {block.Geometry!.Channels}×{block.Geometry.Height}×{block.Geometry.Width} → {block.Channels}×{block.Geometry.OutputHeight}×{block.Geometry.OutputWidth}, kernel {block.Geometry.KernelHeight}, stride {block.Geometry.Stride}{NoBias(block)}",
            BlockKind.BatchNorm => $"BatchNorm over {block.Channels} channel{(block.Channels == 1 ? "" : "s")} × {block.Spatial}",
            BlockKind.MaxPool or BlockKind.AvgPool => $"{(block.Kind == BlockKind.MaxPool ? "MaxPool" : "AvgPool")} {block.Geometry!.KernelHeight}×{block.Geometry.KernelWidth} → {block.Channels}×{block.Geometry.OutputHeight}×{block.Geometry.OutputWidth}",
            BlockKind.Add => $"Add, width {block.Outputs}",
            BlockKind.PReLU => $"PReLU over {block.Channels} channel{(block.Channels == 1 ? "" : "s")} × {block.Spatial}",
            _ => $"width {block.Outputs}",
        };
        var parts = new List<string> { $"{block.Name}: {core}" };
        if (block.Activation != ActivationKind.None) parts.Add($"{block.Activation} ({block.ActivationLayer})");
        if (block.HasDropout) parts.Add($"Dropout {Number(block.DropoutRate)} ({block.DropoutLayer})");
        return string.Join(", ", parts);
    }
}
