using System.Reflection;
using Microsoft.CodeAnalysis;

namespace NetDsl.Generators.Tests;

/// <summary>Malformed declarations: the analyzer reports on the offending attribute, the generator never throws and
/// still emits a surface that compiles.</summary>
public class BadInputTests
{
    static string Network(string members, string network = "[Network]") => $$"""
        using NetDsl;
        namespace Samples;
        {{network}}
        public partial class Net
        {
        {{members}}
        }
        """;

    public static TheoryData<string, string, string> Cases => new()
    {
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Hidden { get; }\n[Add(\"Later\")] public partial Layer Skip { get; }\n[Dense(3)] public partial Layer Later { get; }"), "ND0015", "Add(\"Later\")" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Hidden { get; }\n[Add(nameof(In))] public partial Layer Skip { get; }"), "ND0011", "Add(nameof(In))" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(-3)] public partial Layer Hidden { get; }"), "ND0003", "Dense(-3)" },
        { Network("[Input(4, 0)] public partial Layer In { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0003", "Input(4, 0)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Out { get; }", "[Network(Loss = (Loss)42)]"), "ND0005", "Loss = (Loss)42" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3, Init = (Init)99)] public partial Layer Out { get; }"), "ND0005", "Dense(3, Init = (Init)99)" },
        { Network("[Dense(3)] public partial Layer Out { get; }"), "ND0001", "Network" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Out { get; }", "[Network(Classes = 4)]"), "ND0016", "Network(Classes = 4)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(1)] public partial Layer Out { get; }", "[Network(Classes = 1)]"), "ND0004", "Network(Classes = 1)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(1)] public partial Layer Out { get; }", "[Network(Loss = Loss.MeanSquaredError, TargetMinimum = 2, TargetMaximum = 1)]"), "ND0004", "Network(Loss = Loss.MeanSquaredError, TargetMinimum = 2, TargetMaximum = 1)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Input(4)] public partial Layer Again { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0002", "Input(4)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dropout(1.5)] public partial Layer Drop { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0004", "Dropout(1.5)" },
        { Network("[Input(1, 28, 28)] public partial Layer In { get; }\n[Dense(10)] public partial Layer Out { get; }"), "ND0011", "Dense(10)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Out { get; }\n[Softmax] public partial Layer Probabilities { get; }"), "ND0009", "Softmax" },
        { Network("[Input(4)] public partial Layer In { get; }\n[ReLU] public partial Layer Act { get; }"), "ND0012", "Network" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Parameters { get; }"), "ND0013", "Dense(3)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)][ReLU] public partial Layer Out { get; }"), "ND0008", "ReLU" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Out { get; }\n[LeakyReLU(-0.1)] public partial Layer Leaky { get; }"), "ND0004", "LeakyReLU(-0.1)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3, Init = Init.Uniform, InitLow = 1, InitHigh = 0)] public partial Layer Out { get; }"), "ND0004", "InitLow = 1" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Out { get; }", "[Network(Loss = Loss.BinaryCrossEntropy)]"), "ND0014", "Dense(3)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Out { get; }", "[Network(LabelSmoothing = 1.0)]"), "ND0004", "Network" },
        { Network("[Input(32, 14, 14)] public partial Layer In { get; }\n[Conv2D(8, 3, Stride = 2, Padding = Padding.Valid)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Conv2D(8, 3" },
        { Network("[Input(1, 7, 7)] public partial Layer In { get; }\n[MaxPool(8)] public partial Layer Pool { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "MaxPool(8)" },
        { Network("[Input(784)] public partial Layer In { get; }\n[Conv2D(8, 3)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Conv2D(8, 3)" },
        // A join whose other dimensions differ, or of a layer that is not earlier.
        { Network("[Input(2, 6, 6)] public partial Layer In { get; }\n[Conv2D(3, 3, Stride = 2)] public partial Layer Conv { get; }\n[ReLU] public partial Layer A { get; }\n[Concat(nameof(In))] public partial Layer Join { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Concat(nameof(In))" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Hidden { get; }\n[Concat(\"Later\")] public partial Layer Join { get; }\n[Dense(3)] public partial Layer Later { get; }"), "ND0015", "Concat(\"Later\")" },
        // An embedding away from the input, or without ids to look up.
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Hidden { get; }\n[Embedding(10, 2)] public partial Layer Embed { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Embedding(10, 2)" },
        { Network("[Input(2, 3)] public partial Layer In { get; }\n[Embedding(10, 2)] public partial Layer Embed { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Embedding(10, 2)" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Embedding(0, 2)] public partial Layer Embed { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0003", "Embedding(0, 2)" },
        // 1-D: a convolution or window over (channels, length) that does not fit, and each convolution on the other's input.
        { Network("[Input(4, 9)] public partial Layer In { get; }\n[Conv1D(8, 4, Stride = 2, Padding = Padding.Valid)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Conv1D(8, 4" },
        { Network("[Input(4, 5)] public partial Layer In { get; }\n[MaxPool(6)] public partial Layer Pool { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "MaxPool(6)" },
        { Network("[Input(1, 8, 8)] public partial Layer In { get; }\n[Conv1D(4, 3)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Conv1D(4, 3)" },
        { Network("[Input(2, 16)] public partial Layer In { get; }\n[Conv2D(4, 3)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0011", "Conv2D(4, 3)" },
        { Network("[Input(1, 8, 8)] public partial Layer In { get; }\n[Conv2D(0, 3)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"), "ND0003", "Conv2D(0, 3)" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bad_declaration_gets_its_diagnostic_on_the_attribute_and_no_generator_exception(string source, string id, string attributeText)
    {
        var run = GeneratorHarness.Generate(source);
        var diagnostic = Assert.Single(run.Analyzer, d => d.Id == id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.True(diagnostic.Location.IsInSource);
        Assert.Contains(attributeText, diagnostic.Location.SourceTree!.ToString().Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        // A layer named like a generated member collides with it in C# itself (CS0102 beside ND0013); nothing else may fail.
        Assert.All(run.OutputErrors, e => Assert.True(id == "ND0013" && e.Id == "CS0102", e.ToString()));
        // The invalid network's members name the error; a name collision is seen only by the analyzer, which reads the
        // generated members themselves.
        if (id != "ND0013") Assert.Contains(id, run.Source);
    }

    [Fact]
    public void The_messages_name_the_layer_and_the_numbers()
    {
        var run = GeneratorHarness.Generate(Network("[Input(1, 28, 28)] public partial Layer In { get; }\n[Dense(10)] public partial Layer Out { get; }"));
        Assert.Equal("Layer 'Out' (Dense) cannot take an input of shape (1, 28, 28): Dense takes one dimension per sample; add a [Flatten] layer before it",
            run.Analyzer.Single().GetMessage());
        Assert.EndsWith("docs/rules/ND0011.md", run.Analyzer.Single().Descriptor.HelpLinkUri);
    }

    [Fact]
    public void A_join_names_both_shapes_and_one_that_fits_is_quiet()
    {
        var run = GeneratorHarness.Generate(Network("[Input(2, 6, 6)] public partial Layer In { get; }\n[Conv2D(3, 3, Stride = 2)] public partial Layer Conv { get; }\n[ReLU] public partial Layer A { get; }\n[Concat(nameof(In))] public partial Layer Join { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"));
        Assert.Equal("Layer 'Join' (Concat) cannot take an input of shape (3, 3, 3): it joins 'In' of shape (2, 6, 6) along the first dimension; every other dimension must match",
            run.Analyzer.Single(d => d.Id == "ND0011").GetMessage());
        run = GeneratorHarness.Generate(Network("[Input(2, 6, 6)] public partial Layer In { get; }\n[Conv2D(3, 3)] public partial Layer Conv { get; }\n[ReLU] public partial Layer A { get; }\n[Concat(nameof(In))] public partial Layer Join { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"));
        Assert.DoesNotContain(run.Analyzer, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(run.OutputErrors);
    }

    [Fact]
    public void A_skip_of_another_shape_points_to_the_projection_and_a_projection_needs_sizes_a_stride_relates()
    {
        const string Block = "[Input(3, 8, 8)] public partial Layer In { get; }\n[Conv2D(4, 3)] public partial Layer C0 { get; }\n[ReLU] public partial Layer X { get; }\n[Conv2D(6, 3, Stride = 2)] public partial Layer C1 { get; }\n[ReLU] public partial Layer R1 { get; }\n";
        const string Tail = "\n[ReLU] public partial Layer R2 { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }";
        var run = GeneratorHarness.Generate(Network(Block + "[Add(nameof(X))] public partial Layer Sum { get; }" + Tail));
        Assert.Contains("set Projection = true to map it with a 1×1 convolution", run.Analyzer.Single(d => d.Id == "ND0011").GetMessage());
        run = GeneratorHarness.Generate(Network(Block + "[Add(nameof(X), Projection = true)] public partial Layer Sum { get; }" + Tail));
        Assert.DoesNotContain(run.Analyzer, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(run.OutputErrors);
        // 8 → 6 (a valid 3×3 convolution) is no stride of a 1×1 window.
        run = GeneratorHarness.Generate(Network(Block.Replace("Stride = 2", "Padding = Padding.Valid") + "[Add(nameof(X), Projection = true)] public partial Layer Sum { get; }" + Tail));
        Assert.Contains("which needs two (channels, height, width) maps whose sizes a stride relates", run.Analyzer.Single(d => d.Id == "ND0011").GetMessage());
    }

    [Fact]
    public void A_convolution_on_the_other_dimensionality_says_which_one_to_use()
    {
        var run = GeneratorHarness.Generate(Network("[Input(2, 16)] public partial Layer In { get; }\n[Conv2D(4, 3)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"));
        Assert.Equal("Layer 'Conv' (Conv2D) cannot take an input of shape (2, 16): Conv2D takes (channels, height, width) per sample; use [Conv1D] for (channels, length)",
            run.Analyzer.Single(d => d.Id == "ND0011").GetMessage());
        run = GeneratorHarness.Generate(Network("[Input(4, 9)] public partial Layer In { get; }\n[Conv1D(8, 4, Stride = 2, Padding = Padding.Valid)] public partial Layer Conv { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"));
        Assert.Equal("Layer 'Conv' (Conv1D) cannot take an input of shape (4, 9): a kernel of 4 at stride 2 with padding 0 gives an output size of (9 + 0 − 4) / 2 + 1, which is fractional",
            run.Analyzer.Single(d => d.Id == "ND0011").GetMessage());
        // The same sizes that fit are quiet.
        run = GeneratorHarness.Generate(Network("[Input(4, 10)] public partial Layer In { get; }\n[Conv1D(8, 4, Stride = 2, Padding = Padding.Valid)] public partial Layer Conv { get; }\n[ReLU] public partial Layer A { get; }\n[MaxPool(2)] public partial Layer Pool { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(3)] public partial Layer Out { get; }"));
        Assert.DoesNotContain(run.Analyzer, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(run.OutputErrors);
    }

    [Fact]
    public void An_attribute_that_does_not_compile_gets_a_diagnostic_not_a_generator_crash()
    {
        var compilation = GeneratorHarness.Compile(Network("[Input(4)] public partial Layer In { get; }\n[Dense(\"wide\")] public partial Layer Out { get; }"));
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics);
        var analyzer = GeneratorHarness.Analyze(output);
        Assert.Contains(analyzer, d => d.Id == "ND0010" && d.GetMessage().Contains("'Out'"));
        // The compiler reports the bad argument itself; nothing else is wrong with the output.
        Assert.All(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error), d => Assert.Equal("CS1503", d.Id));
    }

    [Fact]
    public void A_member_that_is_not_a_partial_layer_property_is_reported_and_left_alone()
    {
        var run = GeneratorHarness.Generate(Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public Layer Out { get; } = null!;"));
        Assert.Contains(run.Analyzer, d => d.Id == "ND0006" && d.GetMessage().Contains("'Out'"));
        Assert.Empty(run.OutputErrors);
    }

    [Fact]
    public void A_class_that_is_not_partial_gets_nothing_generated_and_a_diagnostic()
    {
        var compilation = GeneratorHarness.Compile("using NetDsl; [Network] public class Plain { }");
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics);
        Assert.Single(output.SyntaxTrees);
        var analyzer = GeneratorHarness.Analyze(output);
        Assert.Contains(analyzer, d => d.Id == "ND0007" && d.GetMessage().Contains("declared partial"));
    }

    [Fact]
    public void An_invalid_network_compiles_and_its_members_throw_naming_the_diagnostic()
    {
        var run = GeneratorHarness.Generate(Network("[Input(4)] public partial Layer In { get; }\n[Dense(-3)] public partial Layer Hidden { get; }"));
        var type = GeneratorHarness.Load(run.Output).GetType("Samples.Net")!;
        var error = Assert.Throws<TargetInvocationException>(() => Activator.CreateInstance(type, 0));
        var invalid = Assert.IsType<InvalidNetworkException>(error.InnerException);
        Assert.Contains("ND0003: Layer 'Hidden': the unit count must be positive, got -3", invalid.Message);
    }

    [Fact]
    public void A_valid_network_reports_only_its_footprint()
    {
        var run = GeneratorHarness.Generate(GoldenFileTests.Networks["FashionMlp"]);
        Assert.Equal(["ND0112"], run.Analyzer.Select(d => d.Id));
        Assert.Empty(run.OutputErrors);
    }
}

/// <summary>One root cause, one diagnostic: a shape error is reported where shapes stop fitting, not again at each
/// layer whose shape follows from it.</summary>
public class ShapeCascadeTests
{
    [Fact]
    public void A_flat_input_before_a_convolution_is_one_error_at_the_convolution()
    {
        var run = GeneratorHarness.Generate("""
            using NetDsl;
            [Network]
            public partial class Net
            {
                [Input(784)] public partial Layer Pixels { get; }
                [Conv2D(8, 3)] public partial Layer Conv { get; }
                [MaxPool(2)] public partial Layer Pool { get; }
                [Conv2D(16, 3)] public partial Layer Conv2 { get; }
                [Flatten] public partial Layer Flat { get; }
                [Dense(10)] public partial Layer Out { get; }
            }
            """);
        var shape = Assert.Single(run.Analyzer, d => d.Id == "ND0011");
        Assert.Contains("Layer 'Conv'", shape.GetMessage());
        Assert.DoesNotContain(run.Analyzer, d => d.Id != "ND0011" && d.Severity == DiagnosticSeverity.Error);
    }
}
