using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

// The activation buffers per batch size, and the epilogue structs the products call per tile.
internal static partial class CpuEmitter
{
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
            if (schedule.Plan.Blocks.Any(schedule.InferenceWritesNormalized))
                w.Line("/// <summary>The last pass folded BatchNorms into convolutions, which wrote the BatchNorms' outputs instead of their own.</summary>").Line("public bool Folded;");
            foreach (var conv in schedule.Plan.Blocks.Where(schedule.InferencePoolsTiles))
                w.Line($"/// <summary>The last pass pooled {conv.Name}'s Winograd tiles straight into {schedule.InferenceInside(conv).Last().Name}: {schedule.InferenceInside(conv).First().Name}'s output is formed only when asked for.</summary>").Line($"public bool {schedule.InferenceInside(conv).First().Name}Pending;");
            foreach (var block in schedule.Plan.Blocks)
            {
                void Buffer(string suffix, string size) => w.Line($"public readonly T[] {block.Name}{suffix} = new T[{size}];");
                string perBatch = $"capacity * {Width(block)}";
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
                if (block.IsProjected)
                {
                    // The projection's patch matrix and its gradient, one sample at a time; the gradient it sends back.
                    int patch = block.Geometry.PatchSize * block.Geometry.OutputPixels;
                    Buffer("Columns", $"{patch}");
                    Buffer("ColumnGradient", $"{patch}");
                    w.Line($"public readonly {Kernels}AlignedBuffer<T> {block.Name}ProjectedGradient = new(capacity * {block.Geometry.InputSize});");
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

    /// <summary>The folded BatchNorm whose ReLU a convolution's epilogue applies at inference, when the epilogue writes
    /// that BatchNorm's output (<see cref="PassSchedule.InferenceWritesNormalized"/>); null otherwise.</summary>
    static BlockPlan? NormalizedRelu(PassSchedule schedule, BlockPlan block) =>
        block.Kind == BlockKind.Conv && schedule.InferenceWritesNormalized(block)
        && schedule.InferenceInside(block).First() is { Activation: ActivationKind.ReLU } norm ? norm : null;

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
                var normalizedRelu = NormalizedRelu(schedule, block);
                if (normalizedRelu is not null) w.Line($"public bool {normalizedRelu.Name}Relu;");
                w.Line();
                using (w.Block($"public void Apply(int row, int column, scoped {Span}<T> values)"))
                {
                    w.Line($"int at = row * {rowWidth} + column;");
                    string addBias = conv
                        ? $"{Kernels}Arithmetic.AddScalar(values, Bias[row]);"
                        : $"{Kernels}Arithmetic.Add(values, Bias.Slice(column, values.Length));";
                    if (block.HasBias) w.Line(addBias);
                    if (block.IsFolded) w.Line($"if (!Bias.IsEmpty) {addBias} // the folded BatchNorm's shift, at inference");
                    if (normalizedRelu is not null) w.Line($"if ({normalizedRelu.Name}Relu) {ActivationForward(normalizedRelu, "values")} // written as {normalizedRelu.Name}'s output, at inference");
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
                    w.Line($"int at = row * {Width(previous)} + column;");
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
}
