using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Analyzers;

namespace NetDsl.Generators.Tests;

/// <summary>Compiles a source text against the NetDsl runtime, runs the generator and the analyzer on it.</summary>
static class GeneratorHarness
{
    static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    static readonly ImmutableArray<MetadataReference> References =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
        .Where(path => Path.GetFileName(path).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(path) is "mscorlib.dll" or "netstandard.dll")
        .Append(typeof(NetworkAttribute).Assembly.Location)
        .Distinct()
        .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
        .ToImmutableArray();

    /// <summary>NetDsl.Gpu and ILGPU, for a project that gets GPU twins.</summary>
    static readonly ImmutableArray<MetadataReference> GpuReferences = References.AddRange(
        new[] { typeof(NetDsl.Gpu.GpuNetwork).Assembly.Location, typeof(ILGPU.ArrayView<>).Assembly.Location, typeof(ILGPU.Algorithms.XMath).Assembly.Location }
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path)));

    public static CSharpCompilation Compile(params string[] sources) => Compile(gpu: false, sources);

    public static CSharpCompilation Compile(bool gpu, params string[] sources) =>
        CSharpCompilation.Create("NetworkTests",
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Network{i}.cs")),
            gpu ? GpuReferences : References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>Runs the generator on sources compiled with NetDsl.Gpu referenced; returns every generated source by hint
    /// name and the errors of compiling the output.</summary>
    public static (Dictionary<string, string> Sources, ImmutableArray<Diagnostic> OutputErrors) GenerateWithGpu(params string[] sources)
    {
        var compilation = Compile(gpu: true, sources);
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics);
        var result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        return (result.GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString()), errors);
    }

    public static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create([new NetworkGenerator().AsSourceGenerator()], parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public sealed record Run(GeneratorRunResult Generator, Compilation Output, ImmutableArray<Diagnostic> OutputErrors, ImmutableArray<Diagnostic> Analyzer)
    {
        public string Source => Generator.GeneratedSources.Single().SourceText.ToString();
    }

    /// <summary>Runs the generator, compiles its output, and runs the analyzer on the result.</summary>
    public static Run Generate(string source)
    {
        var compilation = Compile(source);
        Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics); // CS8785 (a generator crash) would show here
        var result = Driver().RunGenerators(compilation).GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        return new Run(result, output, errors, Analyze(output));
    }

    /// <summary>The analyzer's diagnostics on a source text, generator output included as in a build.</summary>
    public static ImmutableArray<Diagnostic> AnalyzeSource(string source)
    {
        Driver().RunGeneratorsAndUpdateCompilation(Compile(source), out var output, out _);
        return Analyze(output);
    }

    /// <summary>The analyzer's diagnostics on a compilation (generated code excluded, as in the IDE).</summary>
    public static ImmutableArray<Diagnostic> Analyze(Compilation compilation) =>
        compilation.WithAnalyzers([new NetworkDeclarationAnalyzer(), new CallSiteAnalyzer()]).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();

    /// <summary>Emits and loads the compiled output, to run the generated code.</summary>
    public static Assembly Load(Compilation output)
    {
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.True(emitted.Success, string.Join(Environment.NewLine, emitted.Diagnostics));
        return Assembly.Load(image.ToArray());
    }
}
