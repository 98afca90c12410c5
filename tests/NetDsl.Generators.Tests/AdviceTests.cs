using Microsoft.CodeAnalysis;

namespace NetDsl.Generators.Tests;

/// <summary>Design advice (warnings and the footprint) on valid networks: each rule fires on its case and stays quiet
/// on the nearest correct neighbour; the network still generates and runs.</summary>
public class AdviceTests
{
    static string Network(string members, string loss = "Loss.SoftmaxCrossEntropy") => $$"""
        using NetDsl;
        namespace Samples;
        [Network(Loss = {{loss}})]
        public partial class Net
        {
            [Input(6)] public partial Layer In { get; }
        {{members}}
        }
        """;

    static IEnumerable<Diagnostic> Advice(string source, string id)
    {
        var run = GeneratorHarness.Generate(source);
        Assert.Empty(run.OutputErrors);
        Assert.DoesNotContain("NetworkDeclarationError", run.Source); // advice never blocks generation
        return run.Analyzer.Where(d => d.Id == id);
    }

    static string At(Diagnostic d) => d.Location.SourceTree!.ToString().Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length);

    [Fact]
    public void A_network_whose_every_layer_is_frozen_is_told_that_training_changes_nothing()
    {
        var fired = Assert.Single(Advice(Network("[Dense(8, Trainable = false)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3, Trainable = false)] public partial Layer B { get; }"), "ND0125"));
        Assert.Equal(DiagnosticSeverity.Warning, fired.Severity);
        Assert.Contains("every layer with parameters (A, B) is declared Trainable = false", fired.GetMessage());
        Assert.Empty(Advice(Network("[Dense(8, Trainable = false)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0125"));
    }

    [Fact]
    public void Two_linear_layers_collapse_unless_a_nonlinearity_separates_them()
    {
        var fired = Assert.Single(Advice(Network("[Dense(8)] public partial Layer A { get; }\n[Dropout(0.1)] public partial Layer D { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0104"));
        Assert.Equal(DiagnosticSeverity.Warning, fired.Severity);
        Assert.Equal("Dense(3)", At(fired));
        Assert.Contains("'B' follows 'A'", fired.GetMessage());
        Assert.Empty(Advice(Network("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0104"));
    }

    [Fact]
    public void An_initializer_that_does_not_suit_its_activation_is_reported_with_the_matching_one()
    {
        var xavierBeforeRelu = Assert.Single(Advice(Network("[Dense(8, Init = Init.Xavier)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0105"));
        Assert.Equal("Layer 'A' uses Init.Xavier before ReLU, but He/Kaiming initialization keeps the variance of ReLU-family outputs; use Init.He instead",
            xavierBeforeRelu.GetMessage());
        var heBeforeTanh = Assert.Single(Advice(Network("[Dense(8, Init = Init.HeUniform)] public partial Layer A { get; }\n[Tanh] public partial Layer T { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0105"));
        Assert.Equal("Layer 'A' uses Init.HeUniform before Tanh, but Xavier/Glorot initialization keeps saturating units in their linear range; use Init.XavierUniform instead",
            heBeforeTanh.GetMessage());
        // Through a BatchNorm, the activation after it counts.
        Assert.Single(Advice(Network("[Dense(8, Init = Init.LeCun)] public partial Layer A { get; }\n[BatchNorm] public partial Layer N { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0105"));
        Assert.Empty(Advice(Network("[Dense(8, Init = Init.He)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0105"));
    }

    [Fact]
    public void Constant_initialization_is_reported_and_random_is_not()
    {
        var fired = Assert.Single(Advice(Network("[Dense(8, Init = Init.Zeros)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0106"));
        Assert.Contains("use Init.He", fired.GetMessage());
        Assert.Empty(Advice(Network("[Dense(8, Init = Init.Normal)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0106"));
    }

    [Fact]
    public void Dropout_on_the_output_or_right_before_batchnorm_is_reported()
    {
        var output = Assert.Single(Advice(Network("[Dense(3)] public partial Layer B { get; }\n[Dropout(0.2)] public partial Layer Late { get; }"), "ND0109"));
        Assert.Equal("Dropout(0.2)", At(output));
        var beforeNorm = Assert.Single(Advice(Network("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dropout(0.2)] public partial Layer D { get; }\n[BatchNorm] public partial Layer N { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0111"));
        Assert.Contains("'D' drops values right before BatchNorm", beforeNorm.GetMessage());
        Assert.Empty(Advice(Network("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dropout(0.2)] public partial Layer D { get; }\n[Dense(3)] public partial Layer B { get; }"), "ND0109"));
    }

    [Fact]
    public void Every_valid_network_shows_its_parameter_count_and_training_memory()
    {
        var footprint = Assert.Single(Advice(GoldenFileTests.Networks["FashionMlp"], "ND0112"));
        Assert.Equal(DiagnosticSeverity.Info, footprint.Severity);
        // 235,146 floats = 918.54 KiB each for θ and dθ, twice that for Adam; 1,556 cached floats × 32 samples = 194.5 KiB;
        // at batch 256: 4 · 940,584 + 1,556 · 256 · 4 = 5,355,680 bytes = 5.11 MiB.
        Assert.Equal("Network 'FashionMlp': 235,146 parameters; training at batch 32 with Adam takes 3.78 MiB (parameters 918.54 KiB, gradients 918.54 KiB, optimizer state 1.79 MiB, activations 194.5 KiB), and 5.11 MiB at batch 256",
            footprint.GetMessage());
    }
}

public class ActivationAdviceTests
{
    static IEnumerable<Diagnostic> Advice(string members, string id, string loss = "Loss.SoftmaxCrossEntropy")
    {
        var run = GeneratorHarness.Generate($$"""
            using NetDsl;
            [Network(Loss = {{loss}})]
            public partial class Net
            {
                [Input(6)] public partial Layer In { get; }
            {{members}}
            }
            """);
        Assert.Empty(run.OutputErrors);
        return run.Analyzer.Where(d => d.Id == id);
    }

    const string Tail = "[Dense(3)] public partial Layer Out { get; }";

    [Fact]
    public void Back_to_back_activations_and_a_clip_before_the_softmax_output_are_reported()
    {
        Assert.Single(Advice("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Tanh] public partial Layer T { get; }\n" + Tail, "ND0120"));
        Assert.Empty(Advice("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n" + Tail, "ND0120"));
        var clip = Assert.Single(Advice(Tail + "\n[ReLU] public partial Layer R { get; }\n[Softmax] public partial Layer P { get; }", "ND0121", "Loss.MeanSquaredError"));
        Assert.Contains("'R' (ReLU) clips the logits", clip.GetMessage());
    }

    [Fact]
    public void An_output_range_that_cannot_cover_the_declared_targets_is_reported_on_the_activation()
    {
        const string regression = "Loss.MeanSquaredError, TargetMinimum = 0, TargetMaximum = 500";
        var fired = Assert.Single(Advice("[Dense(1)] public partial Layer Out { get; }\n[Sigmoid] public partial Layer S { get; }", "ND0123", regression));
        Assert.Equal(DiagnosticSeverity.Warning, fired.Severity);
        Assert.Contains("'S' (Sigmoid) keeps the outputs in (0, 1), but the targets are declared to range over [0, 500]", fired.GetMessage());
        // A target declared unbounded below cannot be reached by ReLU; Tanh covers [−1, 1]; a linear output covers all.
        Assert.Single(Advice("[Dense(1)] public partial Layer Out { get; }\n[ReLU] public partial Layer R { get; }", "ND0123", "Loss.MeanSquaredError, TargetMaximum = 3"));
        Assert.Empty(Advice("[Dense(1)] public partial Layer Out { get; }\n[Tanh] public partial Layer T { get; }", "ND0123", "Loss.MeanSquaredError, TargetMinimum = -1, TargetMaximum = 1"));
        Assert.Empty(Advice("[Dense(1)] public partial Layer Out { get; }", "ND0123", regression));
        Assert.Empty(Advice("[Dense(1)] public partial Layer Out { get; }\n[Sigmoid] public partial Layer S { get; }", "ND0123", "Loss.MeanSquaredError"));
    }

    [Fact]
    public void A_declared_class_count_must_match_the_output_width()
    {
        Assert.Empty(Advice(Tail, "ND0016", "Loss.SoftmaxCrossEntropy, Classes = 3"));
        Assert.Empty(Advice("[Dense(1)] public partial Layer Out { get; }\n[Sigmoid] public partial Layer S { get; }", "ND0016", "Loss.BinaryCrossEntropy, Classes = 2"));
        var run = GeneratorHarness.Generate("""
            using NetDsl;
            [Network(Loss = Loss.BinaryCrossEntropy, Classes = 2)]
            public partial class Net
            {
                [Input(6)] public partial Layer In { get; }
                [Dense(3)] public partial Layer Out { get; }
                [Sigmoid] public partial Layer S { get; }
            }
            """);
        var fired = Assert.Single(run.Analyzer, d => d.Id == "ND0016");
        Assert.Equal(DiagnosticSeverity.Error, fired.Severity);
        Assert.Equal("Network 'Net' declares Classes = 2, but its output 'Out' is 3 wide; make it 1 or 2 wide", fired.GetMessage());
    }

    [Fact]
    public void An_activation_on_the_logits_under_softmax_cross_entropy_is_reported()
    {
        Assert.Single(Advice(Tail + "\n[Sigmoid] public partial Layer S { get; }", "ND0107"));
        var relu = Assert.Single(Advice(Tail + "\n[ReLU] public partial Layer Clip { get; }", "ND0107"));
        Assert.Contains("Layer 'Clip' applies ReLU to the logits", relu.GetMessage());
        Assert.Contains("a negative logit is clipped to 0 and gets no gradient", relu.GetMessage());
        Assert.Single(Advice(Tail + "\n[Tanh] public partial Layer T { get; }", "ND0107"));
        Assert.Single(Advice(Tail + "\n[LeakyReLU(0.1)] public partial Layer L { get; }", "ND0107"));
        // Close neighbours stay quiet: a linear output, and a ReLU under a loss that takes outputs as they are.
        Assert.Empty(Advice(Tail + "\n[Linear] public partial Layer Id { get; }", "ND0107"));
        Assert.Empty(Advice(Tail + "\n[ReLU] public partial Layer Clip { get; }", "ND0107", "Loss.MeanSquaredError"));
        Assert.Empty(Advice(Tail + "\n[Sigmoid] public partial Layer S { get; }", "ND0107", "Loss.BinaryCrossEntropy"));
    }

    [Fact]
    public void Four_saturating_activations_without_batchnorm_or_skips_are_reported()
    {
        string stack = string.Concat(Enumerable.Range(1, 4).Select(i => $"[Dense(8)] public partial Layer D{i} {{ get; }}\n[Tanh] public partial Layer T{i} {{ get; }}\n"));
        var fired = Assert.Single(Advice(stack + Tail, "ND0108"));
        Assert.Contains("stacks 4 Sigmoid/Tanh activations (T1, T2, T3, T4)", fired.GetMessage());
        Assert.Empty(Advice(stack.Replace("[Tanh] public partial Layer T2", "[BatchNorm] public partial Layer N { get; }\n[Tanh] public partial Layer T2") + Tail, "ND0108"));
    }

    [Fact]
    public void High_dropout_rates_and_dropout_before_pooling_are_information()
    {
        var rate = Assert.Single(Advice("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dropout(0.7)] public partial Layer D { get; }\n" + Tail, "ND0122"));
        Assert.Equal(DiagnosticSeverity.Info, rate.Severity);
        Assert.Empty(Advice("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dropout(0.5)] public partial Layer D { get; }\n" + Tail, "ND0122"));
    }

    [Fact]
    public void A_rate_of_a_ported_keep_probability_is_a_warning_that_says_what_to_write()
    {
        var keep = Assert.Single(Advice("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dropout(0.8)] public partial Layer D { get; }\n" + Tail, "ND0127"));
        Assert.Equal(DiagnosticSeverity.Warning, keep.Severity);
        Assert.Equal("Layer 'D' drops 0.8 of its values: a rate that high is almost always a keep probability ported from TensorFlow 1's keep_prob, where 0.8 meant keeping 0.8; NetDsl's rate is the share dropped, so write Dropout(0.2)", keep.GetMessage());
        // Just under it, the rate is high but plausible: information, not this warning.
        Assert.Empty(Advice("[Dense(8)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dropout(0.79)] public partial Layer D { get; }\n" + Tail, "ND0127"));
    }
}
