using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetDsl.Generators.Tests;

/// <summary>Declarations that once produced generated code that did not compile with no NetDsl error: names the
/// generated part also declares, class shapes it cannot extend, numbers a float literal cannot hold. Each now gets its
/// error where the user wrote the cause; the odd but valid ones compile.</summary>
public class DeclarationShapeTests
{
    const string InOut = "[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Out { get; }";

    static string Network(string members, string header = "public partial class Net", string ns = "Samples", string after = "") => $$"""
        using NetDsl;
        namespace {{ns}};
        [Network]
        {{header}}
        {
        {{members}}
        }
        {{after}}
        """;

    public static TheoryData<string, string, string, string> Rejected => new()
    {
        // Layer names the generated part declares for the network, for the layer itself, or for another layer.
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer Forward { get; }"), "ND0013", "Dense(3)", "'Forward' is taken by the method Net.Forward" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer InferencePrecision { get; }"), "ND0013", "Dense(3)", "the property InferencePrecision" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer _parameters { get; }"), "ND0013", "Dense(3)", "the field _parameters" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(5)] public partial Layer Out { get; }\n[ReLU] public partial Layer OutForwardEpilogue { get; }\n[Dense(2)] public partial Layer Last { get; }"), "ND0013", "ReLU", "the type OutForwardEpilogue" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(5)] public partial Layer Out { get; }\n[ReLU] public partial Layer Output { get; }\n[Dense(2)] public partial Layer Last { get; }"), "ND0013", "ReLU", "the constant OutputSize, which a member generated for this layer repeats" },
        // User members named like generated ones.
        { Network(InOut + "\npublic const int InputSize = 3;"), "ND0013", "InputSize", "'InputSize' is taken by the constant InputSize" },
        { Network(InOut + "\npublic void Predict(System.ReadOnlySpan<float> input, System.Span<float> output) { }"), "ND0013", "Predict", "the method Net.Predict(ReadOnlySpan<float>, Span<float>)" },
        { Network(InOut + "\npublic Net(int seed) { }"), "ND0013", "Net", "the constructor Net.Net(int)" },
        // Class shapes the generated part cannot extend.
        { Network(InOut, header: "public partial class Net(int width)"), "ND0007", "Network", "without a primary constructor" },
        { Network(InOut, header: "file partial class Net"), "ND0007", "Network", "not file-local" },
        { Network(InOut, header: "public partial class Net : Base", after: "public class Base { public Base(int width) { } }"), "ND0007", "Network", "'Base' has none" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3)] public partial Layer this[int i] { get; }"), "ND0006", "this", "" },
        // Numbers a float literal cannot hold.
        { Network(InOut + "\n[PReLU(InitialSlope = double.NaN)] public partial Layer Slope { get; }\n[Dense(2)] public partial Layer Last { get; }"), "ND0004", "PReLU(InitialSlope = double.NaN)", "the initial slope = NaN" },
        { Network(InOut + "\n[ELU(1e300)] public partial Layer Curve { get; }\n[Dense(2)] public partial Layer Last { get; }"), "ND0004", "ELU(1e300)", "α = 1E+300" },
        { Network(InOut + "\n[LeakyReLU(double.PositiveInfinity)] public partial Layer Leaky { get; }\n[Dense(2)] public partial Layer Last { get; }"), "ND0004", "LeakyReLU(double.PositiveInfinity)", "the negative slope = ∞" },
        { Network(InOut + "\n[BatchNorm(Epsilon = double.PositiveInfinity)] public partial Layer Norm { get; }"), "ND0004", "BatchNorm(Epsilon = double.PositiveInfinity)", "ε = ∞" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3, Init = Init.Constant, InitValue = double.NaN)] public partial Layer Out { get; }"), "ND0004", "InitValue = double.NaN", "the initial value = NaN" },
        { Network("[Input(4)] public partial Layer In { get; }\n[Dense(3, Init = Init.Normal, InitMean = 1e39)] public partial Layer Out { get; }"), "ND0004", "InitMean = 1e39", "the mean = 1E+39" },
        { Network("[Input(1, 6, 6)] public partial Layer In { get; }\n[MaxPool(2, RoundingMode = (RoundingMode)4)] public partial Layer Pool { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(2)] public partial Layer Out { get; }"), "ND0005", "MaxPool(2, RoundingMode = (RoundingMode)4)", "'(RoundingMode)4' is not a known rounding mode" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void A_declaration_the_generated_part_cannot_compile_with_gets_an_error_where_its_cause_is(string source, string id, string locationText, string message)
    {
        var run = GeneratorHarness.Generate(source);
        var diagnostic = Assert.Single(run.Analyzer, d => d.Id == id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains(locationText, diagnostic.Location.SourceTree!.ToString().Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Contains(message, diagnostic.GetMessage(CultureInfo.InvariantCulture));
    }

    public static TheoryData<string> Accepted => new()
    {
        // ActUnits is a Dense layer's constant only: a ReLU 'Act' has none to collide with.
        Network("[Input(4)] public partial Layer In { get; }\n[Dense(5)] public partial Layer ActUnits { get; }\n[ReLU] public partial Layer Act { get; }\n[Dense(2)] public partial Layer Out { get; }"),
        Network("[Input(4)] public partial Layer In { get; }\n[Dense(5)] public partial Layer @event { get; }\n[ReLU] public partial Layer @int { get; }\n[Dense(2)] public partial Layer Out { get; }"),
        Network(InOut, header: "public partial class @class"),
        Network(InOut, ns: "@event.@int"),
        Network(InOut, header: "public partial class Net : Base", after: "public class Base { protected Base(int width = 3) { } public int Predict; }"),
        Network(InOut + "\npublic void Predict(float[] input) { }\npublic Net(string name) : this(seed: 1) { }"),
        // 268,435,456 inputs and 536,870,914 parameters: every count fits an int, so every generated constant must too.
        Network("[Input(1 << 20, 16, 16)] public partial Layer In { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(2)] public partial Layer Out { get; }"),
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void An_odd_but_valid_declaration_compiles_with_its_generated_part(string source)
    {
        var run = GeneratorHarness.Generate(source);
        Assert.DoesNotContain(run.Analyzer, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(run.OutputErrors);
    }

    [Theory]
    [InlineData("Net.g.cs", "")]
    [InlineData("Net.Designer.cs", "")]
    [InlineData("Net.cs", "// <auto-generated/>\n")]
    public void A_network_in_a_file_that_looks_generated_is_still_analyzed(string path, string header)
    {
        var compilation = GeneratorHarness.Compile(header + Network("[Input(4)] public partial Layer In { get; }\n[Dense(-2)] public partial Layer Out { get; }"));
        var tree = compilation.SyntaxTrees.Single();
        compilation = compilation.ReplaceSyntaxTree(tree, tree.WithFilePath(path));
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        Assert.Contains(GeneratorHarness.Analyze(output), d => d.Id == "ND0003");
    }
}
