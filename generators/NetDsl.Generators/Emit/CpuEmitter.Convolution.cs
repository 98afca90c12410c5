using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

// Convolutions: per-sample loops (im2col, the product, pooling inside) shared between the cores, forward and backward.
internal static partial class CpuEmitter
{
    // Z[F, OH·OW] = W[F, C·K·K] · im2col(x) per sample: the output lands in (channel, row, column) order directly.
    // The samples are shared between the cores by the block's loop struct (see EmitSampleLoops).
    static void EmitConvForward(SourceWriter w, PassSchedule schedule, BlockPlan block)
    {
        EmitMaskBeforeProduct(w, block);
        var fields = new[] { "parameters", "inputs", "buffers", "batch" }.Concat(block.IsFolded ? ["folded"] : []).Concat(ForwardSampleFields(block))
            .Select(field => $"{field} = {field}")
            .Concat(block.TakesWinograd ? [$"winograd = winograd.IsEmpty ? default : winograd.Slice({block.Name}WinogradOffset, {block.Name}WinogradLength)"] : []);
        if (schedule.InferencePoolsTiles(block))
            w.Line($"buffers.{schedule.InferenceInside(block).First().Name}Pending = {PoolsTilesNow}; // the sample loop's condition for pooling the tiles");
        w.Line($"var samples = new {block.Name}ForwardSamples<T> {{ {string.Join(", ", fields)} }};");
        w.Line($"{Kernels}WorkSharing.ForEachSample(ref samples, batch, {ConvWork(block)});");
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
        if (schedule.InferencePoolsTiles(block))
        {
            var (norm, tilePool) = (schedule.InferenceInside(block).First(), schedule.InferenceInside(block).Last());
            using (w.Block($"if ({PoolsTilesNow})"))
            {
                w.Line($"// At inference {norm.Name}{(norm.Activation == ActivationKind.ReLU ? " with its ReLU" : "")} and {tilePool.Name} come out of Winograd's output transform: each 2×2 tile of outputs is a pooling window.");
                w.Line($"var pooled = new {Kernels}ChannelShiftEpilogue<T>(buffers.{tilePool.Name}Output.AsSpan(s * {Width(tilePool)}, {Width(tilePool)}), width: {tilePool.Geometry!.OutputPixels}, folded.Slice({block.FoldOffset + block.WeightLength}, {block.Channels}), relu: {Bool(norm.Activation == ActivationKind.ReLU)});");
                w.Line($"{Kernels}Winograd.Forward<T, {Kernels}ChannelShiftEpilogue<T>>(winograd, {SampleInput(schedule, block)}, {GeometryOf(block)}, filters: {block.Channels}, ref pooled, pooled: true);");
                w.Line("continue;");
            }
        }
        w.Line($"var columns = buffers.{block.Name}Columns.AsSpan(part * {patch}, {patch});");
        w.Line($"var epilogue = new {block.Name}ForwardEpilogue<T> {{ {string.Join(", ", SampleEpilogueFields(schedule, block))} }};");
        w.Line(ConvolutionForwardCall(schedule, block, "T", "columns"));
        EmitInferenceInside(w, schedule, block);
        if (schedule.PoolInside(block) is { } pool)
        {
            string sample = $".Slice(s * {Width(block)}, {Width(block)})";
            string pooled = $"buffers.{pool.Name}Output.AsSpan(s * {Width(pool)}, {Width(pool)})";
            w.Line(pool.Kind == BlockKind.MaxPool
                ? $"{Kernels}Pooling.MaxForward(output{sample}, {pooled}, buffers.{pool.Name}Winners.AsSpan(s * {Width(pool)}, {Width(pool)}), 1, {GeometryOf(pool)});"
                : $"{Kernels}Pooling.AverageForward(output{sample}, {pooled}, 1, {GeometryOf(pool)});");
        }
    }

    /// <summary>At inference, with the folded weights and Winograd's filters at hand: the pass pools a convolution's
    /// tiles straight (<see cref="PassSchedule.InferencePoolsTiles"/>) exactly when this holds.</summary>
    const string PoolsTilesNow = "!folded.IsEmpty && !winograd.IsEmpty";

    /// <summary>Sample <c>s</c>'s convolution into <c>epilogue</c>, by Winograd's form where the block takes it.</summary>
    static string ConvolutionForwardCall(PassSchedule schedule, BlockPlan block, string element, string columns) =>
        $"{Kernels}Convolution.Forward<{element}, {block.Name}ForwardEpilogue<{element}>>({Weights(block)}, {SampleInput(schedule, block)}, {columns}, {GeometryOf(block)}, filters: {block.Channels}, ref epilogue{(block.TakesWinograd ? ", transformed: winograd" : "")});";

    /// <summary>The fields of sample <c>s</c>'s forward epilogue. At inference (when <c>folded</c> is not empty, or
    /// always with <paramref name="inferenceOnly"/>) a convolution that writes its folded BatchNorm's output
    /// (<see cref="PassSchedule.InferenceWritesNormalized"/>) writes there, its ReLU included.</summary>
    static IEnumerable<string> SampleEpilogueFields(PassSchedule schedule, BlockPlan block, bool inferenceOnly = false)
    {
        var fields = ForwardEpilogueFields(block, $".Slice(s * {Width(block)}, {Width(block)})").ToList();
        if (!schedule.InferenceWritesNormalized(block)) return fields;
        var norm = schedule.InferenceInside(block).First();
        string normalized = $"buffers.{norm.Name}Output.AsSpan(s * {Width(norm)}, {Width(norm)})";
        fields = fields.Select(f => f.StartsWith("Output = ", System.StringComparison.Ordinal)
            ? $"Output = {(inferenceOnly ? normalized : $"folded.IsEmpty ? output.Slice(s * {Width(block)}, {Width(block)}) : {normalized}")}"
            : f).ToList();
        if (NormalizedRelu(schedule, block) is not null) fields.Add($"{norm.Name}Relu = {(inferenceOnly ? "true" : "!folded.IsEmpty")}");
        return fields;
    }

    /// <summary>For each convolution whose Winograd tiles are pooled straight at inference, a method that forms its
    /// BatchNorm's output for the last pass when asked for (ActivationOutput and the non-finite search read it): the convolution again, sample by sample, from its input kept in the buffers.</summary>
    static void EmitNormalizedOnDemand(SourceWriter w, PassSchedule schedule)
    {
        foreach (var block in schedule.Plan.Blocks.Where(schedule.InferencePoolsTiles))
        {
            var norm = schedule.InferenceInside(block).First();
            var g = block.Geometry!;
            w.Line($"/// <summary>{norm.Name}'s output of the last pass, which pooled {block.Name}'s Winograd tiles straight into {schedule.InferenceInside(block).Last().Name}: formed now from {block.Name}'s input, as the pass would have.</summary>");
            using (w.Block($"{Kernels}AlignedBuffer<float> {norm.Name}OutputOnDemand(ActivationBuffers<float> buffers)"))
            {
                w.Line($"if (!buffers.{norm.Name}Pending) return buffers.{norm.Name}Output;");
                w.Line($"{ReadOnlySpan}<float> parameters = _parameters, folded = FoldedParameters(), winograd = WinogradWeights(folded).Slice({block.Name}WinogradOffset, {block.Name}WinogradLength);");
                w.Line("int batch = _lastBatch;");
                using (w.Block("for (int s = 0; s < batch; s++)"))
                {
                    w.Line($"var epilogue = new {block.Name}ForwardEpilogue<float> {{ {string.Join(", ", SampleEpilogueFields(schedule, block, inferenceOnly: true))} }};");
                    w.Line(ConvolutionForwardCall(schedule, block, "float", $"buffers.{block.Name}Columns.AsSpan(0, {g.PatchSize * g.OutputPixels})"));
                }
                w.Line($"buffers.{norm.Name}Pending = false;");
                w.Line($"return buffers.{norm.Name}Output;");
            }
            w.Line();
        }
    }

    /// <summary>At inference, with the BatchNorm after this convolution folded into it: the BatchNorm's copy (with its
    /// ReLU) and the pooling after it, on this sample while its maps are in cache (<see cref="PassSchedule.InferenceInside"/>).</summary>
    static void EmitInferenceInside(SourceWriter w, PassSchedule schedule, BlockPlan block)
    {
        var inside = schedule.InferenceInside(block).ToList();
        if (inside.Count == 0) return;
        var norm = inside[0];
        if (inside.Count < 2 && schedule.InferenceWritesNormalized(block))
        {
            w.Line($"// At inference {norm.Name} is folded in and written by the product's epilogue.");
            return;
        }
        using (w.Block("if (!folded.IsEmpty)"))
        {
            string normalized = $"buffers.{norm.Name}Output.AsSpan(s * {Width(norm)}, {Width(norm)})";
            if (schedule.InferenceWritesNormalized(block))
                w.Line($"// {norm.Name} is folded in and written by the product's epilogue{(inside.Count > 1 ? $"; {inside[1].Name} on this sample" : "")}");
            else
            {
                w.Line($"// {norm.Name} is folded in: its copy{(norm.Activation == ActivationKind.ReLU ? " with the ReLU" : "")}{(inside.Count > 1 ? $" and {inside[1].Name}" : "")}, on this sample");
                w.Line($"{Kernels}BatchNormalization.InferenceForward<T>(output.Slice(s * {Width(block)}, {Width(block)}), {normalized}, 1, {norm.Channels}, {norm.Spatial}, default, default, default, {Number(norm.Epsilon)}, normalized: true, relu: {Bool(norm.Activation == ActivationKind.ReLU)});");
            }
            if (inside.Count < 2) return;
            var pool = inside[1];
            string pooled = $"buffers.{pool.Name}Output.AsSpan(s * {Width(pool)}, {Width(pool)})";
            w.Line(pool.Kind == BlockKind.MaxPool
                ? $"{Kernels}Pooling.MaxForward({normalized}, {pooled}, buffers.{pool.Name}Winners.AsSpan(s * {Width(pool)}, {Width(pool)}), 1, {GeometryOf(pool)});"
                : $"{Kernels}Pooling.AverageForward({normalized}, {pooled}, 1, {GeometryOf(pool)});");
        }
    }

    /// <summary>Sample <c>s</c> of the convolution's input.</summary>
    static string SampleInput(PassSchedule schedule, BlockPlan block) =>
        $"{BlockInput(schedule, block)}.Slice(s * {InputWidth(schedule.Plan.Blocks, block)}, {InputWidth(schedule.Plan.Blocks, block)})";

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
                w.Line($"public {ReadOnlySpan}<T> parameters{(block.IsFolded ? ", folded" : "")}, inputs;");
                if (block.TakesWinograd) w.Line($"public {ReadOnlySpan}<float> winograd;");
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
            w.Line($"/// <summary>{block.Name}'s backward pass for a range of samples: part 0 sums dW{(block.HasBias ? " and db" : "")} into the gradient, part 1 into {block.Name}PartialGradient{(previous is null ? "" : $"; each sample's input gradient goes to {previous.Name} {InputGradientRoute(schedule, block)}")}.</summary>");
            w.Line(GeneratedCode);
            using (w.Block($"ref struct {block.Name}BackwardSamples<T> : {Kernels}ISampleLoop {ElementConstraint}"))
            {
                w.Line($"public {ReadOnlySpan}<T> parameters, inputs;");
                w.Line($"public {Span}<T> gradients;");
                bool winograd = schedule.WinogradInputGradients.Contains(block);
                if (winograd) w.Line($"public {ReadOnlySpan}<float> winograd;");
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
                    // The transposed form is taken only without a bias.
                    w.Line(block.HasBias
                        ? $"var biasGradient = part == 0 ? gradients.Slice({block.Name}BiasOffset, {block.BiasLength}) : {partial}.AsSpan({block.Name}WeightLength, {block.BiasLength});"
                        : $"var biasGradient = default({Span}<T>);");
                    w.Line("// Regularization joins the weight gradient once, in part 0.");
                    w.Line("T partL1 = part == 0 ? l1 : T.Zero, partL2 = part == 0 ? l2 : T.Zero;");
                    // Each sample's patch matrix is built again in this core's own buffer, where it stays in L2 for the
                    // products that read it, rather than kept from forward: the batch's would be several times the
                    // activations, written once and read once from memory.
                    w.Line($"var columns = buffers.{block.Name}Columns.AsSpan(part * {patch}, {patch});");
                    if (previous is not null) w.Line($"var columnGradient = buffers.{block.Name}ColumnGradient.AsSpan(part * {patch}, {patch});");
                    if (transposed) w.Line($"// dWᵀ = columns · dzᵀ: the {block.Channels} filters as the product's columns, not the {g.PatchSize} patch rows padded to a panel.");
                    string image = previous is null ? "default" : $"buffers.{previous.Name}Gradient.AsSpan(s * {InputWidth(schedule.Plan.Blocks, block)}, {InputWidth(schedule.Plan.Blocks, block)})";
                    using (w.Block("for (int s = first; s < last; s++)"))
                    {
                        w.Line($"{Kernels}Convolution.SampleBackward<T>(parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), {SampleInput(schedule, block)}, buffers.{block.Name}Gradient.AsSpan(s * {Width(block)}, {Width(block)}), columns, {(previous is null ? "default" : "columnGradient")},");
                        w.Line($"    weightGradient, biasGradient, {image}, {GeometryOf(block)}, filters: {block.Channels}, accumulate: s > first, partL1, partL2{(transposed ? ", transposedWeightGradient: true" : "")}{(winograd ? ", transformedInputGradient: winograd" : "")});");
                    }
                }
            }
            w.Line();
        }
    }

    /// <summary>How a convolution's input gradient is formed, for comments.</summary>
    static string InputGradientRoute(PassSchedule schedule, BlockPlan block) => schedule.WinogradInputGradients.Contains(block)
        ? "by Winograd's F(2×2, 3×3) where the machine runs it (else through col2im)"
        : "through col2im";

    // dW = Σ_s dZ_s · columns_sᵀ (the ones column adds db); dcolumns_s = Wᵀ · dZ_s, added back onto the image by col2im.
    static void EmitConvBackward(SourceWriter w, PassSchedule schedule, BlockPlan block, BlockPlan? previous)
    {
        w.Line($"// {block.Name}: dW{(block.HasBias ? " and db" : "")} summed over samples{(previous is null ? "" : $", and the gradient of {previous.Name} {InputGradientRoute(schedule, block)}")}");
        using (w.Block(""))
        {
            string winograd = schedule.WinogradInputGradients.Contains(block)
                ? $", winograd = winogradInputGradient.IsEmpty ? default : winogradInputGradient.Slice({block.Name}WinogradInputGradientOffset, {block.Name}WinogradInputGradientLength)"
                : "";
            w.Line($"var samples = new {block.Name}BackwardSamples<T> {{ parameters = parameters, inputs = inputs, gradients = gradients, buffers = buffers, batch = batch, l1 = l1, l2 = l2{winograd} }};");
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
}
