using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Analyzers;

namespace NetDsl.Generators.Tests;

/// <summary>Declarations that crashed the generator (CS8785, which drops every network's generated code) or the
/// analyzer (AD0001). Each must now give diagnostics, never an exception, and the other networks must still generate.</summary>
public class GeneratorCrashTests
{
    const string Healthy = """
        namespace Healthy;
        [NetDsl.Network]
        public partial class Fine
        {
            [NetDsl.Input(4)] public partial NetDsl.Layer In { get; }
            [NetDsl.Dense(2)] public partial NetDsl.Layer Out { get; }
        }
        """;

    static string Network(string layers, string name = "Net", string ns = "Samples") => $$"""
        using NetDsl;
        namespace {{ns}};
        [Network]
        public partial class {{name}}
        {
        {{layers}}
        }
        """;

    public static TheoryData<string, string> Cases => new()
    {
        { "Input(null)", Network("[Input(null)] public partial Layer In { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "Input(default)", Network("[Input(default)] public partial Layer In { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "names differing in case", Network("[Input(4)] public partial Layer In { get; }\n[Dense(2)] public partial Layer Out { get; }") +
            "\n" + Network("[Input(4)] public partial Layer In { get; }\n[Dense(2)] public partial Layer Out { get; }", name: "NET").Replace("namespace Samples;", "") },
        { "namespace @class", Network("[Input(4)] public partial Layer In { get; }\n[Dense(2)] public partial Layer Out { get; }", ns: "@class") },
        { "Dense(1 << 30) twice", Network("[Input(4)] public partial Layer In { get; }\n[Dense(1 << 30)] public partial Layer A { get; }\n[ReLU] public partial Layer R { get; }\n[Dense(1 << 30)] public partial Layer B { get; }") },
        { "Conv2D(4)", Network("[Input(1, 8, 8)] public partial Layer In { get; }\n[Conv2D(4)] public partial Layer C { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "Conv2D(4,", Network("[Input(1, 8, 8)] public partial Layer In { get; }\n[Conv2D(4,] public partial Layer C { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "MaxPool", Network("[Input(1, 8, 8)] public partial Layer In { get; }\n[MaxPool] public partial Layer P { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "AvgPool(\"2\")", Network("[Input(1, 8, 8)] public partial Layer In { get; }\n[AvgPool(\"2\")] public partial Layer P { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "Maxout", Network("[Input(4)] public partial Layer In { get; }\n[Dense(4)] public partial Layer D { get; }\n[Maxout] public partial Layer M { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "Add()", Network("[Input(4)] public partial Layer In { get; }\n[Dense(4)] public partial Layer D { get; }\n[Add()] public partial Layer S { get; }\n[Dense(2)] public partial Layer Out { get; }") },
        { "Add(null)", Network("[Input(4)] public partial Layer In { get; }\n[Dense(4)] public partial Layer D { get; }\n[Add(null)] public partial Layer S { get; }\n[Dense(2)] public partial Layer Out { get; }") },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_declaration_gives_diagnostics_not_an_exception_and_the_other_networks_still_generate(string name, string source)
    {
        _ = name;
        var compilation = GeneratorHarness.Compile(source, Healthy);
        var driver = GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics); // CS8785
        var result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        Assert.Contains(result.GeneratedSources, s => s.HintName.Contains("Fine", StringComparison.Ordinal));
        Assert.All(result.GeneratedSources, s => Assert.DoesNotContain('@', s.HintName));

        var analyzers = output.WithAnalyzers([new NetworkDeclarationAnalyzer(), new CallSiteAnalyzer()],
            new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: false, logAnalyzerExecutionTime: false));
        var diagnostics = await analyzers.GetAllDiagnosticsAsync();
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
        // The user's own C# may be broken while typing; otherwise an ND error is reported or everything compiles.
        bool userCodeBroken = compilation.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error && d.Id is not ("CS9248" or "CS8795"));
        bool ndError = diagnostics.Any(d => d.Id.StartsWith("ND", StringComparison.Ordinal) && d.Severity == DiagnosticSeverity.Error);
        var outputErrors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        Assert.True(userCodeBroken || ndError || outputErrors.IsEmpty, string.Join(Environment.NewLine, outputErrors));
    }
}

public class NetworkTooLargeTests
{
    [Theory]
    [InlineData("[Input(3, 512, 512)] public partial Layer In { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(4096)] public partial Layer Out { get; }", "Out", "Out.weight holds 3,221,225,472 values")]
    [InlineData("[Input(65536, 65536, 1)] public partial Layer In { get; }\n[Flatten] public partial Layer F { get; }\n[Dense(2)] public partial Layer Out { get; }", "In", "the output of 'In', shape (65536, 65536, 1), holds 4,294,967,296 values")]
    public void Counts_beyond_an_int_are_an_error_on_the_layer_where_they_arise(string layers, string layer, string message)
    {
        var run = GeneratorHarness.Generate($$"""
            using NetDsl;
            namespace Samples;
            [Network]
            public partial class Huge
            {
            {{layers}}
            }
            """);
        var error = Assert.Single(run.Analyzer, d => d.Id == "ND0017");
        Assert.True(error.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains(message, StringComparison.Ordinal), error.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains($"[{error.Location.SourceTree!.ToString().Substring(error.Location.SourceSpan.Start, error.Location.SourceSpan.Length)}] public partial Layer {layer} ", error.Location.SourceTree.ToString());
        Assert.Empty(run.OutputErrors);
    }
}
