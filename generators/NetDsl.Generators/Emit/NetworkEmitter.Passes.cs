using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Shared;

namespace NetDsl.Generators.Emit;

// The passes: one straight-line method per direction, every width a literal, every fused step an epilogue struct.
internal static partial class NetworkEmitter
{
    static void EmitForward(SourceWriter w, NetworkPlan plan)
    {
        var method = w.Block(
            $"static void Forward<T>({ReadOnlySpan}<T> parameters, ActivationBuffers<T> buffers, {ReadOnlySpan}<T> inputs, int batch, {Runtime}PassMode mode, ulong dropoutSeed) {ElementConstraint}");
        w.Line($"bool dropout = mode == {Runtime}PassMode.Training;");
        w.Line("buffers.DropoutActive = dropout;");
        foreach (var block in plan.Blocks)
        {
            w.Line($"// {Describe(block)}");
            using var scope = w.Block("");
            string n = $"batch * {block.Outputs}";
            w.Line($"var output = buffers.{block.Name}Output.AsSpan(0, {n});");
            if (block.KeepsActivation)
                w.Line($"var activation = dropout ? buffers.{block.Name}Activation.AsSpan(0, {n}) : output;");
            else if (!block.IsDense || block.Activation == ActivationKind.Softmax)
                w.Line("var activation = output;");
            if (block.IsDense) EmitDenseForward(w, plan, block);
            else EmitElementwiseForward(w, plan, block);
        }
        method.Dispose();
        w.Line();
    }

    static void EmitDenseForward(SourceWriter w, NetworkPlan plan, BlockPlan block)
    {
        string n = $"batch * {block.Outputs}";
        if (block.HasDropout)
        {
            w.Line($"var mask = buffers.{block.Name}Mask.AsSpan(0, {n});");
            w.Line($"if (dropout) {Kernels}Dropout.FillMask(mask, {Number(block.DropoutRate)}, dropoutSeed, {block.Index});");
        }
        var fields = new List<string> { $"Bias = parameters.Slice({block.Name}BiasOffset, {block.Outputs})", "Output = output" };
        if (block.KeepsActivation) fields.Add("Activation = activation");
        if (block.HasDropout) fields.AddRange(["Mask = mask", "Dropout = dropout"]);
        w.Line($"var epilogue = new {block.Name}ForwardEpilogue<T> {{ {string.Join(", ", fields)} }};");
        w.Line($"{Kernels}Gemm.Multiply<T, {block.Name}ForwardEpilogue<T>>({BlockInput(plan, block)}, false, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), true, batch, {block.Outputs}, {block.Inputs}, ref epilogue);");
        if (block.Activation == ActivationKind.Softmax) EmitSoftmaxThenDropout(w, block, maskDrawn: true);
    }

    static void EmitElementwiseForward(SourceWriter w, NetworkPlan plan, BlockPlan block)
    {
        w.Line($"{BlockInput(plan, block)}.CopyTo(activation);");
        if (block.Activation == ActivationKind.Softmax) EmitSoftmaxThenDropout(w, block, maskDrawn: false);
        else
        {
            if (block.Activation != ActivationKind.None) w.Line(ActivationForward(block, "activation"));
            if (block.HasDropout) EmitDropoutOnWholeBatch(w, block, maskDrawn: false);
        }
    }

    // Softmax needs whole rows, so it runs after the product rather than in a tile epilogue.
    static void EmitSoftmaxThenDropout(SourceWriter w, BlockPlan block, bool maskDrawn)
    {
        w.Line($"{Kernels}Activations.SoftmaxRows(activation, {block.Outputs});");
        if (block.HasDropout) EmitDropoutOnWholeBatch(w, block, maskDrawn);
    }

    /// <summary>Dropout over the whole batch, for steps outside a product's epilogue. A Dense block drew its mask
    /// before the product.</summary>
    static void EmitDropoutOnWholeBatch(SourceWriter w, BlockPlan block, bool maskDrawn)
    {
        using var scope = w.Block("if (dropout)");
        if (!maskDrawn)
        {
            w.Line($"var mask = buffers.{block.Name}Mask.AsSpan(0, batch * {block.Outputs});");
            w.Line($"{Kernels}Dropout.FillMask(mask, {Number(block.DropoutRate)}, dropoutSeed, {block.Index});");
        }
        if (block.KeepsActivation) w.Line("activation.CopyTo(output);");
        w.Line($"{Kernels}Arithmetic.Multiply(output, mask);");
    }

    static void EmitLoss(SourceWriter w, NetworkPlan plan)
    {
        var last = plan.Blocks.Last();
        var lastDense = plan.Blocks.Last(b => b.IsDense);
        string kernel = plan.Spec.Loss.ToString();
        string smoothing = plan.Spec.Loss != LossKind.MeanSquaredError && plan.Spec.LabelSmoothing != 0 ? $", labelSmoothing: {Number(plan.Spec.LabelSmoothing)}" : "";
        var method = w.Block(
            $"static double LossOf<T>(ActivationBuffers<T> buffers, {ReadOnlySpan}<T> targets, int batch, bool withGradient) {ElementConstraint}");
        w.Line($"// The gradient with respect to the network output lands in {lastDense.Name}'s dZ buffer; Backward turns it into dZ.");
        w.Line($"var gradient = withGradient ? buffers.{lastDense.Name}Gradient.AsSpan(0, batch * OutputSize) : default;");
        w.Line($"return {Kernels}LossKernels.{kernel}<T>(buffers.{last.Name}Output.AsSpan(0, batch * OutputSize), targets, gradient, batch, OutputSize{smoothing});");
        method.Dispose();
        w.Line();
    }

    static void EmitBackward(SourceWriter w, NetworkPlan plan)
    {
        var blocks = plan.Blocks;
        var dense = blocks.Where(b => b.IsDense).ToList();
        using (w.Block($"static void Backward<T>({ReadOnlySpan}<T> parameters, ActivationBuffers<T> buffers, {ReadOnlySpan}<T> inputs, int batch, {Span}<T> gradients) {ElementConstraint}"))
        {
            w.Line("bool dropout = buffers.DropoutActive;");
            var lastDense = dense.Last();
            var outputChain = blocks.Where(b => b.Index >= lastDense.Index).Reverse().ToList();
            // Binary cross-entropy's gradient is already taken with respect to the final sigmoid's input.
            bool fusedSigmoid = plan.Spec.Loss == LossKind.BinaryCrossEntropy;
            if (fusedSigmoid) outputChain[0] = outputChain[0] with { Activation = ActivationKind.None };
            if (outputChain.Any(b => b.Activation != ActivationKind.None || b.HasDropout))
            {
                w.Line($"// dZ of {lastDense.Name} from the loss gradient, through the steps after its product");
                using var scope = w.Block("");
                w.Line($"var gradient = buffers.{lastDense.Name}Gradient.AsSpan(0, batch * {lastDense.Outputs});");
                foreach (var step in outputChain) EmitWholeBatchBackwardStep(w, step);
            }
            else if (plan.Spec.Loss != LossKind.MeanSquaredError)
                w.Line($"// dZ of {lastDense.Name} is the fused {(fusedSigmoid ? "sigmoid binary cross-entropy gradient (ŷ − y) / (batch · outputs)" : "softmax cross-entropy gradient (ŷ − y) / batch")}.");

            for (int d = dense.Count - 1; d >= 0; d--)
            {
                var block = dense[d];
                w.Line($"// {block.Name}: dW and db from one pass over dZ and the layer input (the ones column yields db)");
                using (w.Block(""))
                {
                    w.Line($"var epilogue = new {Kernels}WeightGradientEpilogue<T>(gradients.Slice({block.Name}WeightOffset, {block.Name}WeightLength), gradients.Slice({block.Name}BiasOffset, {block.Outputs}), {block.Inputs});");
                    w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}WeightGradientEpilogue<T>>(buffers.{block.Name}Gradient.AsSpan(0, batch * {block.Outputs}), true, {BlockInput(plan, block)}, false, {block.Outputs}, {block.Inputs}, batch, ref epilogue, appendOnesColumn: true);");
                }
                if (d == 0) continue;
                var previous = dense[d - 1];
                var chain = blocks.Where(b => b.Index >= previous.Index && b.Index < block.Index).Reverse().ToList();
                w.Line($"// dZ of {previous.Name} = (dZ of {block.Name} · W) ⊙ each step's derivative, formed in the product's epilogue");
                using (w.Block(""))
                {
                    string product = $"buffers.{block.Name}Gradient.AsSpan(0, batch * {block.Outputs}), false, parameters.Slice({block.Name}WeightOffset, {block.Name}WeightLength), false, batch, {block.Inputs}, {block.Outputs}";
                    if (chain.Any(b => b.Activation == ActivationKind.Softmax))
                    {
                        w.Line($"var gradient = buffers.{previous.Name}Gradient.AsSpan(0, batch * {previous.Outputs});");
                        w.Line($"var epilogue = new {Kernels}StoreEpilogue<T>(gradient, {previous.Outputs});");
                        w.Line($"{Kernels}Gemm.Multiply<T, {Kernels}StoreEpilogue<T>>({product}, ref epilogue);");
                        foreach (var step in chain) EmitWholeBatchBackwardStep(w, step);
                    }
                    else
                    {
                        var fields = new List<string> { $"Destination = buffers.{previous.Name}Gradient.AsSpan(0, batch * {previous.Outputs})", "Dropout = dropout" };
                        foreach (var step in chain)
                        {
                            if (step.HasDropout) fields.Add($"{step.Name}Mask = buffers.{step.Name}Mask.AsSpan(0, batch * {step.Outputs})");
                            if (step.Activation != ActivationKind.None) fields.Add($"{step.Name}Activation = {ActivationOutput(step)}");
                        }
                        w.Line($"var epilogue = new {block.Name}InputGradientEpilogue<T> {{ {string.Join(", ", fields)} }};");
                        w.Line($"{Kernels}Gemm.Multiply<T, {block.Name}InputGradientEpilogue<T>>({product}, ref epilogue);");
                    }
                }
            }
        }
        w.Line();
    }

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

    static void EmitBuffers(SourceWriter w, NetworkPlan plan)
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
        using (w.Block("sealed class ActivationBuffers<T>(int capacity) where T : unmanaged"))
        {
            w.Line("public readonly int Capacity = capacity;");
            w.Line("public bool DropoutActive;");
            foreach (var block in plan.Blocks)
            {
                w.Line($"public readonly T[] {block.Name}Output = new T[capacity * {block.Outputs}];");
                if (block.KeepsActivation) w.Line($"public readonly T[] {block.Name}Activation = new T[capacity * {block.Outputs}];");
                if (block.HasDropout) w.Line($"public readonly T[] {block.Name}Mask = new T[capacity * {block.Outputs}];");
                if (block.IsDense) w.Line($"public readonly T[] {block.Name}Gradient = new T[capacity * {block.Outputs}];");
            }
        }
        w.Line();
    }

    static void EmitEpilogues(SourceWriter w, NetworkPlan plan)
    {
        var dense = plan.Blocks.Where(b => b.IsDense).ToList();
        foreach (var block in dense)
        {
            w.Line($"/// <summary>{Describe(block)}: bias{(block.Activation is ActivationKind.None or ActivationKind.Softmax ? "" : ", " + block.Activation)}{(block.HasDropout && block.Activation != ActivationKind.Softmax ? ", dropout" : "")} on each tile of the product.</summary>");
            using (w.Block($"ref struct {block.Name}ForwardEpilogue<T> : {Kernels}IGemmEpilogue<T> {ElementConstraint}"))
            {
                w.Line($"public {ReadOnlySpan}<T> Bias;");
                w.Line($"public {Span}<T> Output;");
                if (block.KeepsActivation) w.Line($"public {Span}<T> Activation;");
                if (block.HasDropout) w.Lines($"public {ReadOnlySpan}<T> Mask;", "public bool Dropout;");
                w.Line();
                using (w.Block($"public void Apply(int row, int column, scoped {Span}<T> values)"))
                {
                    w.Line($"int at = row * {block.Outputs} + column;");
                    w.Line($"{Kernels}Arithmetic.Add(values, Bias.Slice(column, values.Length));");
                    if (block.Activation == ActivationKind.Softmax)
                    {
                        w.Line($"values.CopyTo({(block.KeepsActivation ? "Activation" : "Output")}.Slice(at));");
                        continue;
                    }
                    if (block.Activation != ActivationKind.None) w.Line(ActivationForward(block, "values"));
                    if (block.HasDropout)
                        using (w.Block("if (Dropout)"))
                        {
                            if (block.KeepsActivation) w.Line("values.CopyTo(Activation.Slice(at));");
                            w.Line($"{Kernels}Arithmetic.Multiply(values, Mask.Slice(at, values.Length));");
                        }
                    w.Line("values.CopyTo(Output.Slice(at));");
                }
            }
            w.Line();
        }

        for (int d = 1; d < dense.Count; d++)
        {
            var block = dense[d];
            var previous = dense[d - 1];
            var chain = plan.Blocks.Where(b => b.Index >= previous.Index && b.Index < block.Index).Reverse().ToList();
            if (chain.Any(b => b.Activation == ActivationKind.Softmax)) continue;
            w.Line($"/// <summary>Forms dZ of {previous.Name} on each tile of dZ({block.Name})·W: {string.Join(", then ", chain.Select(StepText))}.</summary>");
            using (w.Block($"ref struct {block.Name}InputGradientEpilogue<T> : {Kernels}IGemmEpilogue<T> {ElementConstraint}"))
            {
                w.Line($"public {Span}<T> Destination;");
                w.Line("public bool Dropout;");
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
                        if (step.HasDropout) w.Line($"if (Dropout) {Kernels}Arithmetic.Multiply(values, {step.Name}Mask.Slice(at, values.Length));");
                        if (step.Activation != ActivationKind.None)
                            w.Line(ActivationBackward(step, "values", $"{step.Name}Activation.Slice(at, values.Length)"));
                    }
                    w.Line("values.CopyTo(Destination.Slice(at));");
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

    static string BlockInput(NetworkPlan plan, BlockPlan block) =>
        block.InputBlock < 0 ? "inputs" : $"buffers.{plan.Blocks[block.InputBlock].Name}Output.AsSpan(0, batch * {block.Inputs})";

    static string Describe(BlockPlan block)
    {
        var parts = new List<string> { block.IsDense ? $"{block.Name}: Dense {block.Inputs} → {block.Outputs}" : $"{block.Name}: width {block.Outputs}" };
        if (block.Activation != ActivationKind.None) parts.Add($"{block.Activation} ({block.ActivationLayer})");
        if (block.HasDropout) parts.Add($"Dropout {Number(block.DropoutRate)} ({block.DropoutLayer})");
        return string.Join(", ", parts);
    }
}
