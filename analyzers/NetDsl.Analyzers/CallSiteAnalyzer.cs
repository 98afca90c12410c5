using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace NetDsl.Analyzers;

/// <summary>Rules at call sites, from constant arguments: optimizer hyperparameters out of range (rule 17) and a
/// gradient-check step the double-precision thresholds cannot work with (rule 24).</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CallSiteAnalyzer : DiagnosticAnalyzer
{
    const string HelpLinkBase = "https://github.com/netdsl/netdsl/blob/main/docs/rules/";

    public static readonly DiagnosticDescriptor HyperparameterOutOfRange = new("ND0117",
        "Optimizer hyperparameter out of range",
        "{0} = {1} is {2}",
        "NetDsl.Usage", DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinkBase + "ND0117.md");

    public static readonly DiagnosticDescriptor GradientCheckStep = new("ND0124",
        "Gradient-check step outside [1e-7, 1e-3]",
        "A gradient-check step ε = {0} is {1}: the centered difference's error grows as ε² above 1e-3 and round-off grows as 1/ε below 1e-7, so the 1e-7 / 1e-3 thresholds stop meaning anything",
        "NetDsl.Usage", DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLinkBase + "ND0124.md");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(HyperparameterOutOfRange, GradientCheckStep);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var optimizerBase = start.Compilation.GetTypeByMetadataName("NetDsl.Optimizers.OptimizerBase");
            var gradientCheck = start.Compilation.GetTypeByMetadataName("NetDsl.Training.GradientCheck");
            if (optimizerBase is null) return;
            start.RegisterOperationAction(c => AnalyzeCreation(c, optimizerBase), OperationKind.ObjectCreation);
            if (gradientCheck is not null) start.RegisterOperationAction(c => AnalyzeInvocation(c, gradientCheck), OperationKind.Invocation);
        });
    }

    static void AnalyzeCreation(OperationAnalysisContext context, INamedTypeSymbol optimizerBase)
    {
        var creation = (IObjectCreationOperation)context.Operation;
        if (!InheritsFrom(creation.Type as INamedTypeSymbol, optimizerBase)) return;
        foreach (var argument in creation.Arguments)
        {
            if (argument.ArgumentKind != ArgumentKind.Explicit || argument.Parameter is null) continue;
            if (argument.Value.ConstantValue is not { HasValue: true, Value: { } raw }) continue;
            double value = System.Convert.ToDouble(raw, CultureInfo.InvariantCulture);
            string name = argument.Parameter.Name;
            string? problem = name switch
            {
                "learningRate" when value <= 0 => "not > 0: the optimizer would not descend",
                "learningRate" when value > 1 => "above 1: a step that large diverges for almost every network",
                "beta" or "beta1" or "beta2" or "rho" when value < 0 || value >= 1 => "outside [0, 1): the moving average would not decay",
                "epsilon" when value <= 0 => "not > 0: a zero denominator makes the step infinite",
                _ => null,
            };
            if (problem is not null)
                context.ReportDiagnostic(Diagnostic.Create(HyperparameterOutOfRange, argument.Syntax.GetLocation(),
                    $"{creation.Type!.Name}'s {name}", value.ToString("R", CultureInfo.InvariantCulture), problem));
        }
    }

    static void AnalyzeInvocation(OperationAnalysisContext context, INamedTypeSymbol gradientCheck)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (!SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType, gradientCheck) || invocation.TargetMethod.Name != "Run") return;
        var epsilon = invocation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "epsilon" && a.ArgumentKind == ArgumentKind.Explicit);
        if (epsilon?.Value.ConstantValue is not { HasValue: true, Value: { } raw }) return;
        double value = System.Convert.ToDouble(raw, CultureInfo.InvariantCulture);
        if (value is >= 1e-7 and <= 1e-3) return;
        context.ReportDiagnostic(Diagnostic.Create(GradientCheckStep, epsilon.Syntax.GetLocation(),
            value.ToString("R", CultureInfo.InvariantCulture), value < 1e-7 ? "below 1e-7" : "above 1e-3"));
    }

    static bool InheritsFrom(INamedTypeSymbol? type, INamedTypeSymbol baseType)
    {
        for (; type is not null; type = type.BaseType)
            if (SymbolEqualityComparer.Default.Equals(type, baseType)) return true;
        return false;
    }
}
