using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Generators.Shared;

namespace NetDsl.Analyzers;

/// <summary>Runs the shared Parse and Plan on each [Network] class and reports every problem on the attribute or member
/// it concerns, as the user types.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class NetworkDeclarationAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = NetworkDiagnostics.All.ToImmutableArray();

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var networkAttribute = start.Compilation.GetTypeByMetadataName(NetworkParser.NetworkAttributeName);
            if (networkAttribute is null) return;
            start.RegisterSymbolAction(symbolContext => AnalyzeType(symbolContext, networkAttribute), SymbolKind.NamedType);
        });
    }

    static void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol networkAttribute)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var attribute = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, networkAttribute));
        if (attribute is null) return;
        var plan = NetworkPlanner.Plan(NetworkParser.Parse(type, attribute, context.CancellationToken));
        foreach (var problem in plan.Problems)
        {
            var location = problem.Location?.ToLocation(context.Compilation) ?? type.Locations.FirstOrDefault() ?? Location.None;
            var properties = problem.Fix is null
                ? ImmutableDictionary<string, string?>.Empty
                : ImmutableDictionary<string, string?>.Empty.Add(Problem.FixProperty, problem.Fix);
            context.ReportDiagnostic(Diagnostic.Create(problem.Descriptor, location, properties, problem.Arguments.Cast<object>().ToArray()));
        }
    }
}
