using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

// The public members: predictions, gradients, the training step and the views of θ, each checking its arguments.
internal static partial class CpuEmitter
{
    /// <summary>The members every network has, valid or not.</summary>
    static void EmitSurface(SourceWriter w, PassSchedule schedule, bool valid)
    {
        string name = schedule.Plan.Spec.TypeName;
        w.Summary("The layers in declaration order: name, kind, output shape and parameter count.");
        Member(w, valid, "public static global::System.Collections.Generic.IReadOnlyList<" + Runtime + "Layer> Summary", "_layers");
        w.Summary("The layers as a table (name, kind, output shape, parameters) with the total, ready to print.");
        Member(w, valid, "public static string SummaryTable", $"{Runtime}Layer.FormatTable({Literal(name)}, _layers, ParameterCount)");
        w.Summary("The memory training at batchSize takes: θ, dθ, optimizerStateCopies more copies of θ for the optimizer, and the cached activations.");
        Member(w, valid, $"public static {Runtime}MemoryPlan PlanMemory(int batchSize, int optimizerStateCopies = 2)",
            "new(ParameterCount, ActivationValuesPerSample, batchSize, optimizerStateCopies)");
        // Handing out θ or the statistics may change them: the folded, quantized and input-major inference weights are then recomputed.
        w.Line("/// <inheritdoc/>");
        Member(w, valid, $"public {Span}<float> Parameters", valid && schedule.Plan.DerivesWeights ? "Touch(_parameters)" : "_parameters");
        w.Line("/// <inheritdoc/>");
        Member(w, valid, $"public {Span}<float> Gradients", "_gradients");
        w.Line("/// <summary>BatchNorm running means and variances (per layer: C means, then C variances); empty without BatchNorm.</summary>");
        Member(w, valid, $"public {Span}<float> RunningStatistics", schedule.Plan.DerivesWeights ? "Touch(_statistics)" : "_statistics");
        w.Line($"/// <summary>The arithmetic of predictions: float, or int8 Dense layers (<see cref=\"{Runtime}InferencePrecision\"/>).</summary>");
        w.Line($"public {Runtime}InferencePrecision InferencePrecision {{ get; set; }}");
        if (valid && schedule.Plan.DerivesWeights)
        {
            w.Line();
            w.Line("float[] Touch(float[] values) { _version++; return values; }");
            w.Line();
        }
        if (valid && schedule.Plan.DenseBlocks.Any())
        {
            EmitDenseCopies(w, schedule, "QuantizedDense", "QuantizedWeights()", "_quantized", "Quantize",
                $"InferencePrecision != {Runtime}InferencePrecision.Int8");
            w.Line($"/// <summary>Float predictions of fewer rows than <see cref=\"{Kernels}InputMajorGemm.RowLimit\"/> read each Dense layer's weights from a copy stored input by input, packed once instead of at every call, where the batch is below the copy's own <see cref=\"{Kernels}InputMajorDense.RowLimit\"/> (<see cref=\"{Kernels}InputMajorDense\"/>).</summary>");
            EmitDenseCopies(w, schedule, "InputMajorDense", "InputMajorWeights(int batch)", "_inputMajor", "Load",
                $"InferencePrecision != {Runtime}InferencePrecision.Float32 || batch >= {Kernels}InputMajorGemm.RowLimit");
        }
        if (valid && schedule.Plan.FoldedCount > 0)
        {
            w.Line("/// <summary>Inference folds each BatchNorm into the product before it (W′ = sW, b′ = s(b − μ) + β, s = γ/√(σ² + ε)).</summary>");
            // The quantized and input-major copies hold W′ or W as folding was set when they were made: a change counts as new θ.
            w.Line("public bool FoldBatchNormAtInference { get => _foldAtInference; set { _foldAtInference = value; _version++; } }");
            w.Line("bool _foldAtInference = true;");
            w.Line();
            using (w.Block($"{ReadOnlySpan}<float> FoldedParameters()"))
            {
                w.Line("if (!FoldBatchNormAtInference) return default;");
                w.Line("if (_foldedVersion == _version) return _folded;");
                foreach (var block in schedule.Plan.Blocks.Where(b => b.IsFolded))
                {
                    var norm = schedule.Plan.Blocks[block.Index + 1];
                    w.Line($"{Kernels}BatchNormalization.FoldIntoProduct(_parameters.AsSpan({block.Name}WeightOffset, {block.Name}WeightLength), default, " +
                        $"_parameters.AsSpan({norm.Name}WeightOffset, {norm.Channels}), _parameters.AsSpan({norm.Name}BiasOffset, {norm.Channels}), " +
                        $"_statistics.AsSpan({norm.StatisticsOffset}, {2 * norm.Channels}), {Number(norm.Epsilon)}, " +
                        $"_folded.AsSpan({block.FoldOffset}, {block.WeightLength}), _folded.AsSpan({block.FoldOffset + block.WeightLength}, {block.Channels}));");
                }
                w.Line("_foldedVersion = _version;");
                w.Line("return _folded;");
            }
        }
        if (valid && schedule.Plan.WinogradBlocks.Any())
        {
            w.Line($"/// <summary>The 3×3 convolutions' filters transformed for Winograd's F(2×2, 3×3) (<see cref=\"{Kernels}Winograd\"/>): empty where the kernel does not run, else made again from the weights the pass reads (W′ where a BatchNorm folds) whenever θ may have changed since the last call.</summary>");
            using (w.Block($"{ReadOnlySpan}<float> WinogradWeights({ReadOnlySpan}<float> folded)"))
            {
                w.Line($"if (!{Kernels}Winograd.IsSupported) return default;");
                w.Line("if (_winograd is not null && _winogradVersion == _version && _winogradFolded == !folded.IsEmpty) return _winograd;");
                w.Line("_winograd ??= new float[WinogradLength];");
                w.Line($"{ReadOnlySpan}<float> parameters = _parameters;");
                foreach (var block in schedule.Plan.WinogradBlocks)
                    w.Line($"{Kernels}Winograd.TransformWeights({Weights(block)}, _winograd.AsSpan({block.Name}WinogradOffset, {block.Name}WinogradLength), {GeometryOf(block)}, filters: {block.Channels});");
                w.Line("(_winogradVersion, _winogradFolded) = (_version, !folded.IsEmpty);");
                w.Line("return _winograd;");
            }
        }
        if (valid && schedule.WinogradInputGradients.Any())
        {
            w.Line($"/// <summary>The filters of the convolutions' input gradients transformed for Winograd's F(2×2, 3×3) (<see cref=\"{Kernels}Winograd.TransformInputGradientWeights\"/>): empty where the kernel does not run, else made again from θ whenever it may have changed since the last call.</summary>");
            using (w.Block($"{ReadOnlySpan}<float> WinogradInputGradientWeights()"))
            {
                w.Line($"if (!{Kernels}Winograd.IsSupported) return default;");
                w.Line("if (_winogradInputGradient is not null && _winogradInputGradientVersion == _version) return _winogradInputGradient;");
                w.Line("_winogradInputGradient ??= new float[WinogradInputGradientLength];");
                foreach (var block in schedule.WinogradInputGradients)
                    w.Line($"{Kernels}Winograd.TransformInputGradientWeights(_parameters.AsSpan({block.Name}WeightOffset, {block.Name}WeightLength), _winogradInputGradient.AsSpan({block.Name}WinogradInputGradientOffset, {block.Name}WinogradInputGradientLength), {GeometryOf(block)}, filters: {block.Channels});");
                w.Line("_winogradInputGradientVersion = _version;");
                w.Line("return _winogradInputGradient;");
            }
        }
        w.Line("/// <inheritdoc/>");
        w.Line("public bool DropoutEnabled { get; set; } = true;");
        w.Line("/// <inheritdoc/>");
        w.Line("public long DropoutSampleOffset { get; set; }");
        w.Line("/// <inheritdoc/>");
        Member(w, valid, "public void Freeze(string layer)", "_frozen.Freeze(layer)");
        w.Line("/// <inheritdoc/>");
        Member(w, valid, "public void Unfreeze(string layer)", "_frozen.Unfreeze(layer)");
        w.Line("/// <inheritdoc/>");
        Member(w, valid, "public global::System.Collections.Generic.IReadOnlyList<string> FrozenLayers", "_frozen.Layers");
        w.Line("/// <inheritdoc/>");
        Member(w, valid, $"public void ApplyGradients({Runtime}Optimizers.IOptimizer optimizer)", "_frozen.Step(optimizer, _parameters, _gradients)");
        w.Line("/// <summary>The rate of each Dropout layer, in declaration order (see DropoutLayers); starts at the declared rates.</summary>");
        Member(w, valid, $"public {Span}<double> DropoutRates", "_dropoutRates");
        w.Line($"static readonly string[] _dropoutLayers = [{string.Join(", ", schedule.Plan.Blocks.Where(b => b.HasDropout).Select(b => Literal(b.DropoutLayer!)))}];");
        w.Line($"global::System.Collections.Generic.IReadOnlyList<string> {Runtime}INeuralNetwork.DropoutLayers => _dropoutLayers;");
        w.Line("/// <inheritdoc/>");
        w.Line($"public {Runtime}Training.Regularization Regularization {{ get; set; }}");
        w.Line();

        w.Summary("Draws θ again from seed as the constructor does, and resets the running statistics, the dropout stream and the step count.");
        Method(w, valid, "public void Initialize(int seed)", () =>
        {
            w.Line($"var random = new {Runtime}Rng(unchecked((ulong)seed));");
            foreach (var block in schedule.Plan.Blocks.Where(b => b.HasParameters))
            {
                string weights = $"_parameters.AsSpan({block.Name}WeightOffset, {block.Name}WeightLength)";
                if (block.Kind == BlockKind.PReLU)
                {
                    w.Line($"{weights}.Fill({Number(block.InitArguments[0])}f);");
                    continue;
                }
                if (block.Kind == BlockKind.BatchNorm)
                {
                    w.Line($"{weights}.Fill(1f);");
                    w.Line($"_parameters.AsSpan({block.Name}BiasOffset, {block.Name}BiasLength).Clear();");
                    w.Line($"_statistics.AsSpan({block.StatisticsOffset}, {block.Channels}).Clear();");
                    w.Line($"_statistics.AsSpan({block.StatisticsOffset + block.Channels}, {block.Channels}).Fill(1f);");
                    continue;
                }
                // Fans count channels × kernel area for a convolution.
                int fanOut = block.Kind == BlockKind.Conv ? block.Channels * block.Geometry!.KernelHeight * block.Geometry.KernelWidth : block.Outputs;
                string arguments = string.Concat(block.InitArguments.Select(a => ", " + Number(a)));
                w.Line($"{Runtime}Initializers.Fill({weights}, {Runtime}Init.{block.Init}, {block.FanIn}, {fanOut}, random{arguments});");
                if (block.HasBias) w.Line($"_parameters.AsSpan({block.Name}BiasOffset, {block.Name}BiasLength).Clear();");
            }
            w.Lines("_training.DropoutSeed = random.NextUInt64();", "_training.Steps = 0;");
            if (schedule.Plan.DerivesWeights) w.Line("_version++;");
        });

        string inputShape = ShapeText(schedule.Plan.InputShape);
        w.Summary(valid ? $"Predicts one sample: input holds InputSize = {schedule.Plan.InputSize} values, shape {inputShape}; output receives OutputSize = {schedule.Plan.OutputSize} values." : Throws);
        GuardedMethod(w, schedule, valid, $"public void Predict({ReadOnlySpan}<float> input, {Span}<float> output)", () =>
        {
            w.Line($"{Runtime}Shapes.RequireLength(input.Length, InputSize, {Literal(ShapeText(schedule.Plan.InputShape))}, nameof(input));");
            w.Line($"{Runtime}Shapes.RequireLength(output.Length, OutputSize, \"({schedule.Plan.OutputSize})\", nameof(output));");
            w.Line("PredictBatch(input, output);");
        });

        w.Summary(valid ? $"Predicts a batch in inference mode (no dropout, BatchNorm with its running statistics): inputs holds batch × {schedule.Plan.InputSize} values, shape (batch, {string.Join(", ", schedule.Plan.InputShape)}); outputs receives batch × {schedule.Plan.OutputSize}. Allocates nothing once buffers for the batch exist." : Throws);
        GuardedMethod(w, schedule, valid, $"public void PredictBatch({ReadOnlySpan}<float> inputs, {Span}<float> outputs)", () =>
        {
            BatchOf(w, schedule, "inputs");
            w.Line($"{Runtime}Shapes.RequireBatchLength(outputs.Length, batch, OutputSize, nameof(outputs));");
            w.Line("var buffers = FloatBuffers(batch);");
            w.Line(ForwardCall(schedule.Plan, "float", ("parameters", "_parameters"), ("buffers", "buffers"), ("inputs", "inputs"), ("batch", "batch"),
                ("mode", $"{Runtime}PassMode.Inference"), ("dropoutSeed", "0"), ("dropoutFirstSample", "0"), ("frozen", "null"), ("dropoutRates", "_dropoutRates"), ("statistics", "_statistics"),
                ("updateStatistics", "false"), ("folded", "FoldedParameters()"), ("quantized", "QuantizedWeights()"), ("inputMajor", "InputMajorWeights(batch)"),
                ("winograd", WinogradWeights(schedule.Plan, inference: true))));
            w.Line($"buffers.{schedule.Plan.Blocks.Last().Name}Output.AsSpan(0, batch * OutputSize).CopyTo(outputs);");
        });

        w.Line("/// <inheritdoc/>");
        GuardedMethod(w, schedule, valid, $"public float ComputeGradients({ReadOnlySpan}<float> inputs, {ReadOnlySpan}<float> targets)", () =>
        {
            BatchOf(w, schedule, "inputs");
            w.Line($"{Runtime}Shapes.RequireBatchLength(targets.Length, batch, OutputSize, nameof(targets));");
            w.Line("var buffers = FloatBuffers(batch);");
            w.Line($"var mode = DropoutEnabled ? {Runtime}PassMode.Training : {Runtime}PassMode.TrainingWithoutDropout;");
            w.Line("ulong stepSeed = _training.NextStepSeed();");
            w.Line(ForwardCall(schedule.Plan, "float", ("parameters", "_parameters"), ("buffers", "buffers"), ("inputs", "inputs"), ("batch", "batch"),
                ("mode", "mode"), ("dropoutSeed", "stepSeed"), ("dropoutFirstSample", "DropoutSampleOffset"), ("frozen", "_frozen"), ("dropoutRates", "_dropoutRates"), ("statistics", "_statistics"), ("updateStatistics", "true"),
                ("folded", "default"), ("quantized", "null"), ("inputMajor", "null"), ("winograd", WinogradWeights(schedule.Plan, inference: false))));
            if (schedule.Plan.DerivesWeights) w.Line("_version++; // θ and the running statistics are about to change");
            w.Line("double loss = LossOf<float>(buffers, targets, batch, withGradient: true) + Regularization.Penalty<float>(_parameters, _frozen.DecayTensors, batch);");
            w.Line($"Backward<float>(_parameters, buffers, inputs, batch, _gradients, (float)(Regularization.L1 / batch), (float)(Regularization.L2 / batch), _frozen{(schedule.WinogradInputGradients.Any() ? ", WinogradInputGradientWeights()" : "")});");
            w.Line("_frozen.ClearGradients<float>(_gradients);");
            w.Line("return (float)loss;");
        });

        w.Summary(valid ? $"One training step: forward and backward over the batch (inputs: batch × {schedule.Plan.InputSize} values, shape (batch, {string.Join(", ", schedule.Plan.InputShape)}); targets: batch × {schedule.Plan.OutputSize}), then the optimizer's update of θ. Returns the mean loss; a non-finite loss or gradient leaves θ, the optimizer, the running statistics and the step count as they were." : Throws);
        Method(w, valid, $"public float TrainStep({ReadOnlySpan}<float> inputs, {ReadOnlySpan}<float> targets, {Runtime}Optimizers.IOptimizer optimizer)", () =>
        {
            w.Line("var passes = new TrainingPasses(this);");
            w.Line("return _training.TrainStep(ref passes, inputs, targets, _parameters, _gradients, _statistics, optimizer, _frozen);");
        });

        if (valid)
        {
            w.Line("/// <summary>This network's passes, for the training step the runtime runs around them.</summary>");
            w.Line(GeneratedCode);
            using (w.Block($"readonly struct TrainingPasses({SourceWriter.Identifier(schedule.Plan.Spec.TypeName)} network) : {Runtime}ITrainingPasses"))
            {
                w.Line($"public float ComputeGradients({ReadOnlySpan}<float> inputs, {ReadOnlySpan}<float> targets) => network.ComputeGradients(inputs, targets);");
                w.Line($"public void StatisticsRestored() {{{(schedule.Plan.DerivesWeights ? " network._version++; " : " ")}}}");
            }
            w.Line();
        }

        w.Line("/// <inheritdoc/>");
        GuardedMethod(w, schedule, valid, $"public float EvaluateLoss({ReadOnlySpan}<float> inputs, {ReadOnlySpan}<float> targets)", () =>
        {
            BatchOf(w, schedule, "inputs");
            w.Line($"{Runtime}Shapes.RequireBatchLength(targets.Length, batch, OutputSize, nameof(targets));");
            w.Line("var buffers = FloatBuffers(batch);");
            w.Line(ForwardCall(schedule.Plan, "float", ("parameters", "_parameters"), ("buffers", "buffers"), ("inputs", "inputs"), ("batch", "batch"),
                ("mode", $"{Runtime}PassMode.Inference"), ("dropoutSeed", "0"), ("dropoutFirstSample", "0"), ("frozen", "null"), ("dropoutRates", "_dropoutRates"), ("statistics", "_statistics"),
                ("updateStatistics", "false"), ("folded", "FoldedParameters()"), ("quantized", "null"), ("inputMajor", "null"),
                ("winograd", WinogradWeights(schedule.Plan, inference: true))));
            w.Line("return (float)LossOf<float>(buffers, targets, batch, withGradient: false);");
        });

        w.Line("/// <inheritdoc/>");
        GuardedMethod(w, schedule, valid, $"public double ComputeLoss({ReadOnlySpan}<double> parameters, {ReadOnlySpan}<double> inputs, {ReadOnlySpan}<double> targets)", () =>
        {
            DoubleForward(w, schedule, withGradients: false);
            w.Line("return LossOf<double>(buffers, targets, batch, withGradient: false) + Regularization.Penalty(parameters, _frozen.DecayTensors, batch);");
        });

        w.Line("/// <inheritdoc/>");
        GuardedMethod(w, schedule, valid, $"public double ComputeGradients({ReadOnlySpan}<double> parameters, {ReadOnlySpan}<double> inputs, {ReadOnlySpan}<double> targets, {Span}<double> gradients)", () =>
        {
            DoubleForward(w, schedule, withGradients: true);
            w.Line("double loss = LossOf<double>(buffers, targets, batch, withGradient: true) + Regularization.Penalty(parameters, _frozen.DecayTensors, batch);");
            w.Line($"Backward<double>(parameters, buffers, inputs, batch, gradients, Regularization.L1 / batch, Regularization.L2 / batch, _frozen{(schedule.WinogradInputGradients.Any() ? ", winogradInputGradient: default" : "")});");
            w.Line("_frozen.ClearGradients<double>(gradients);");
            w.Line("return loss;");
        });

        w.Line("/// <inheritdoc/>");
        Method(w, valid, $"public {ReadOnlySpan}<float> ActivationOutput(string layer)", () =>
        {
            w.Line("if (_floatBuffers is not { } buffers) return default;");
            using (w.Block("return layer switch", "};"))
            {
                foreach (var block in schedule.Plan.Blocks.Where(b => b.ActivationLayer is not null))
                {
                    // The pre-dropout values live in the activation buffer only while a training pass had dropout on.
                    string source = block.KeepsActivation ? $"(buffers.DropoutActive ? buffers.{block.Name}Activation : buffers.{block.Name}Output)" : OutputOfLastPass(schedule, block);
                    w.Line($"{Literal(block.ActivationLayer!)} => {source}.AsSpan(0, _lastBatch * {Width(block)}),");
                }
                w.Line("_ => default,");
            }
        });

        w.Line("/// <inheritdoc/>");
        Method(w, valid, "public string? FindFirstNonFiniteLayer()", () =>
        {
            w.Line("foreach (var tensor in _parameterTensors)");
            w.Line($"    if ({Runtime}Shapes.HasNonFinite(_parameters.AsSpan(tensor.Offset, tensor.Length))) return tensor.Layer;");
            w.Line("if (_floatBuffers is not { } buffers) return null;");
            foreach (var block in schedule.Plan.Blocks)
                // A folded pass wrote the BatchNorm's output in the convolution's place: the BatchNorm's check covers both.
                w.Line($"if ({(schedule.InferenceWritesNormalized(block) ? "!buffers.Folded && " : "")}{Runtime}Shapes.HasNonFinite({OutputOfLastPass(schedule, block)}.AsSpan(0, _lastBatch * {Width(block)}))) return {Literal(block.Name)};");
            w.Line("return null;");
        });

        w.Line($"string {Runtime}INeuralNetwork.Name => {Literal(schedule.Plan.Spec.TypeName)};");
        w.Line($"int {Runtime}INeuralNetwork.InputSize => InputSize;");
        w.Line($"int {Runtime}INeuralNetwork.OutputSize => OutputSize;");
        w.Line($"int {Runtime}INeuralNetwork.ParameterCount => ParameterCount;");
        Member(w, valid, $"{Runtime}Loss {Runtime}INeuralNetwork.Loss", "TrainingLoss");
        Member(w, valid, $"global::System.Collections.Generic.IReadOnlyList<{Runtime}Layer> {Runtime}INeuralNetwork.Layers", "_layers");
        Member(w, valid, $"global::System.Collections.Generic.IReadOnlyList<{Runtime}ParameterTensor> {Runtime}INeuralNetwork.ParameterTensors", "_parameterTensors");
        Member(w, valid, $"global::System.Collections.Generic.IReadOnlyList<{Runtime}ParameterTensor> {Runtime}INeuralNetwork.StatisticsTensors", "_statisticsTensors");
        w.Line();
    }

    /// <summary>Where a block's output of the last float pass is read: its buffer, formed first where the pass pooled a
    /// convolution's tiles past it (<see cref="PassSchedule.InferencePoolsTiles"/>).</summary>
    static string OutputOfLastPass(PassSchedule schedule, BlockPlan block) =>
        schedule.Plan.Blocks.Any(c => schedule.InferencePoolsTiles(c) && schedule.InferenceInside(c).First().Index == block.Index)
            ? $"{block.Name}OutputOnDemand(buffers)"
            : $"buffers.{block.Name}Output";

    /// <summary>The float passes' argument for Winograd's transformed filters: those of the weights the pass reads.</summary>
    static string WinogradWeights(NetworkPlan plan, bool inference) =>
        inference && plan.FoldedCount > 0 ? "WinogradWeights(FoldedParameters())" : "WinogradWeights(default)";

    /// <summary>The checks and forward pass the double-precision (gradient checking) members share: dropout off.</summary>
    static void DoubleForward(SourceWriter w, PassSchedule schedule, bool withGradients)
    {
        w.Line($"{Runtime}Shapes.RequireLength(parameters.Length, ParameterCount, \"({schedule.Plan.ParameterCount})\", nameof(parameters));");
        if (withGradients)
            w.Line($"{Runtime}Shapes.RequireLength(gradients.Length, ParameterCount, \"({schedule.Plan.ParameterCount})\", nameof(gradients));");
        BatchOf(w, schedule, "inputs");
        w.Line($"{Runtime}Shapes.RequireBatchLength(targets.Length, batch, OutputSize, nameof(targets));");
        w.Line("var buffers = DoubleBuffers(batch);");
        w.Line(ForwardCall(schedule.Plan, "double", ("parameters", "parameters"), ("buffers", "buffers"), ("inputs", "inputs"), ("batch", "batch"),
            ("mode", $"{Runtime}PassMode.TrainingWithoutDropout"), ("dropoutSeed", "0"), ("dropoutFirstSample", "0"), ("frozen", "_frozen"), ("dropoutRates", "_dropoutRates"), ("statistics", "_statistics"),
            ("updateStatistics", "false"), ("folded", "default"), ("quantized", "null"), ("inputMajor", "null"), ("winograd", "default")));
    }

    static void BatchOf(SourceWriter w, PassSchedule schedule, string parameter) =>
        w.Line($"int batch = {Runtime}Shapes.BatchSize({parameter}.Length, InputSize, {Literal(ShapeText(schedule.Plan.InputShape))}, nameof({parameter}));");
}
