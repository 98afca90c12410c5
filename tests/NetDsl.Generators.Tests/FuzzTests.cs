using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Analyzers;

namespace NetDsl.Generators.Tests;

/// <summary>The generator and the analyzer on seeded mutations of valid networks (<see cref="DeclarationFuzzer"/>):
/// neither may throw, and a declaration either gets an ND error or compiles with its generated code. The case count
/// defaults to 2,000; <c>NETDSL_FUZZ_CASES=20000</c> runs a larger sweep, <c>NETDSL_FUZZ_SEED</c> moves its start.</summary>
public class FuzzTests
{
    /// <summary>How a case ended, counted for the closing report.</summary>
    enum Outcome { Compiles, NetDslError, UserCodeBroken }

    [Fact]
    public void No_declaration_crashes_the_generator_or_the_analyzer_or_compiles_wrong_without_an_error()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("NETDSL_FUZZ_CASES"), out int requested) ? requested : 2000;
        int first = int.TryParse(Environment.GetEnvironmentVariable("NETDSL_FUZZ_SEED"), out int seed) ? seed : 0;
        var names = GeneratedNames();
        var failures = new ConcurrentBag<(int Seed, string Failure)>();
        var outcomes = new ConcurrentDictionary<Outcome, int>();
        Parallel.For(first, first + cases, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, caseSeed =>
        {
            string source = DeclarationFuzzer.Case(caseSeed, names);
            var (outcome, failure) = Check(source);
            outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            if (failure is not null) failures.Add((caseSeed, $"case {caseSeed}: {failure}\n{source}"));
        });
        string counts = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}"));
        var ordered = failures.OrderBy(f => f.Seed).ToList();
        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases} cases failed ({counts}):\n" +
            string.Join("\n", ordered.Take(60).Select(f => Summary(f.Failure))) + "\n\nThe first in full:\n\n" +
            string.Join("\n\n", ordered.Take(4).Select(f => f.Failure)));
        Console.WriteLine($"Fuzz: {cases} declarations from seed {first}: {counts}");
    }

    /// <summary>A failure in one line: its case, mutations and first complaint.</summary>
    static string Summary(string failure)
    {
        var lines = failure.Split('\n');
        string mutations = lines.FirstOrDefault(l => l.StartsWith("// mutations:", StringComparison.Ordinal)) ?? "";
        string complaint = lines.Skip(1).FirstOrDefault(l => l.Contains("error", StringComparison.Ordinal)) ?? lines[0];
        return $"{lines[0].Split(':')[0]} [{mutations.Replace("// mutations: ", "")}] {complaint.Trim()}";
    }

    /// <summary>One declaration through the generator and both analyzers, as a build runs them.</summary>
    static (Outcome, string?) Check(string source)
    {
        var compilation = GeneratorHarness.Compile(source);
        var driver = GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var result = driver.GetRunResult().Results.Single();
        if (result.Exception is not null) return (Outcome.Compiles, "the generator threw " + result.Exception);
        if (!generatorDiagnostics.IsEmpty) return (Outcome.Compiles, "the generator reported " + string.Join("; ", generatorDiagnostics));

        var analyzers = output.WithAnalyzers([new NetworkDeclarationAnalyzer(), new CallSiteAnalyzer()],
            new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: false, logAnalyzerExecutionTime: false));
        var diagnostics = analyzers.GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        if (diagnostics.FirstOrDefault(d => d.Id == "AD0001") is { } crash) return (Outcome.Compiles, "the analyzer threw: " + crash);
        if (diagnostics.Any(d => d.Id.StartsWith("ND", StringComparison.Ordinal) && d.Severity == DiagnosticSeverity.Error))
            return (Outcome.NetDslError, null);
        // Partial members without their generated part are the only errors the generator should settle.
        if (compilation.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error && d.Id is not ("CS9248" or "CS8795")))
            return (Outcome.UserCodeBroken, null);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        return errors.IsEmpty ? (Outcome.Compiles, null)
            : (Outcome.Compiles, "no ND error, but the output does not compile:\n  " + string.Join("\n  ", errors.Take(5)));
    }

    /// <summary>Every name the generated code declares or refers to, from the fuzzer's unmutated networks: layers named
    /// like them must get an error, not code that does not compile.</summary>
    static IReadOnlyList<string> GeneratedNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string valid in DeclarationFuzzer.Valid())
        {
            var compilation = GeneratorHarness.Compile(valid);
            GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
            foreach (var tree in output.SyntaxTrees.Skip(1))
                foreach (var node in tree.GetRoot().DescendantNodes())
                {
                    var identifier = node switch
                    {
                        BaseTypeDeclarationSyntax type => type.Identifier,
                        MethodDeclarationSyntax method => method.Identifier,
                        PropertyDeclarationSyntax property => property.Identifier,
                        VariableDeclaratorSyntax variable => variable.Identifier,
                        IdentifierNameSyntax identifierName => identifierName.Identifier,
                        _ => default,
                    };
                    if (identifier.ValueText is { Length: > 0 } text && (char.IsUpper(text[0]) || text[0] == '_')) names.Add(text);
                }
        }
        return names.ToList();
    }
}
