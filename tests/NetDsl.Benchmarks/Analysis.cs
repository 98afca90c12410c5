using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Analyzers;

namespace NetDsl.Benchmarks;

/// <summary>The declaration analyzer on the Fashion CNN as the IDE runs it after an edit: a fresh compilation of the
/// file, then Parse, Plan and every rule. The analyzer issue's budget is 50 ms per network.</summary>
public static class Analysis
{
    const string Source = """
        using NetDsl;
        [Network(Loss = Loss.SoftmaxCrossEntropy, Classes = 10)]
        public partial class FashionCnn
        {
            [Input(1, 28, 28)] public partial Layer Image { get; }
            [Conv2D(32, 3, Init = Init.He)] public partial Layer Conv1 { get; }
            [BatchNorm] public partial Layer Norm1 { get; }
            [ReLU] public partial Layer Act1 { get; }
            [MaxPool(2)] public partial Layer Pool1 { get; }
            [Conv2D(64, 3, Init = Init.He)] public partial Layer Conv2 { get; }
            [BatchNorm] public partial Layer Norm2 { get; }
            [ReLU] public partial Layer Act2 { get; }
            [MaxPool(2)] public partial Layer Pool2 { get; }
            [Flatten] public partial Layer Flat { get; }
            [Dense(128, Init = Init.He)] public partial Layer Hidden { get; }
            [ReLU] public partial Layer Act3 { get; }
            [Dropout(0.3)] public partial Layer Drop { get; }
            [Dense(10, Init = Init.Xavier)] public partial Layer Logits { get; }
        }
        """;

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
