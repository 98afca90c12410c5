using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Analyzers;

namespace NetDsl.Benchmarks;

/// <summary>The declaration analyzer on the sample's CNN as the IDE runs it after an edit: a fresh compilation of the
/// file, then Parse, Plan and every rule. The analyzer issue's budget is 50 ms per network.</summary>
public static class Analysis
{
    /// <summary>The sample's CNN file as written (copied beside the benchmark).</summary>
    static readonly string Source = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Samples", "FashionCnn.cs.txt"));

    /// <summary>Median milliseconds of one analysis (after a warm-up), and the diagnostics it reported.</summary>
    public static (double Milliseconds, int Diagnostics) Measure(int rounds = 21)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(path => MetadataReference.CreateFromFile(path)).Append(MetadataReference.CreateFromFile(typeof(Layer).Assembly.Location))
            .ToList();
        ImmutableArray<DiagnosticAnalyzer> analyzers = [new NetworkDeclarationAnalyzer()];
        var times = new List<double>();
        int reported = 0;
        for (int round = 0; round < rounds + 3; round++)
        {
            var watch = Stopwatch.StartNew();
            var compilation = CSharpCompilation.Create("Edit" + round, [CSharpSyntaxTree.ParseText(Source)], references,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            reported = compilation.WithAnalyzers(analyzers).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult().Length;
            if (round >= 3) times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return (times[times.Count / 2], reported);
    }
}
