using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using NetDsl.Generators.Shared;

namespace NetDsl.Analyzers;

/// <summary>Rules at call sites: optimizer hyperparameters out of range (ND0117), a gradient-check step the
/// double-precision thresholds cannot work with (ND0124), gradient checking inside a training loop (ND0114), a scaler
/// fitted on dev or test data (ND0116), the test set used for model selection (ND0118), and a BatchNorm network trained
/// at batch size 1 (ND0119). Data roles follow the data through the method (<see cref="DataRoles"/>), and the names of
/// the variables passed where the flow cannot tell.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CallSiteAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = NetworkDiagnostics.CallSites.ToImmutableArray();

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var optimizerBase = start.Compilation.GetTypeByMetadataName("NetDsl.Optimizers.OptimizerBase");
            var gradientCheck = start.Compilation.GetTypeByMetadataName("NetDsl.Training.GradientCheck");
            var trainer = start.Compilation.GetTypeByMetadataName("NetDsl.Training.Trainer");
            var network = start.Compilation.GetTypeByMetadataName(NetDsl.Generators.Shared.NetworkParser.NetworkAttributeName);
            if (optimizerBase is null || gradientCheck is null || trainer is null || network is null) return;
            start.RegisterOperationAction(c => AnalyzeCreation(c, optimizerBase), OperationKind.ObjectCreation);
            start.RegisterOperationAction(c => AnalyzeInvocation(c, gradientCheck, trainer, network), OperationKind.Invocation);
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
            // Values the constructor rejects are certain to throw at run time: those are errors; a legal but
            // diverging learning rate is a warning.
            var (problem, throws) = name switch
            {
                "learningRate" when !(value > 0) || double.IsInfinity(value) => ("not a finite number > 0: the constructor throws; pass a small positive rate such as 1e-3", true),
                "learningRate" when value > 1 => ("above 1: a step that large diverges for almost every network; start from 1e-3 (Adam) or 0.01–0.1 (SGD)", false),
                "beta" or "beta1" or "beta2" or "rho" when !(value >= 0 && value < 1) => ("outside [0, 1): the constructor throws, as the moving average would not decay; use a value such as 0.9 or 0.999", true),
                "epsilon" when !(value > 0) => ("not > 0: the constructor throws, as a zero denominator makes the step infinite; use a small value such as 1e-8", true),
                _ => ((string?)null, false),
            };
            if (problem is not null)
                context.ReportDiagnostic(Diagnostic.Create(NetworkDiagnostics.OptimizerHyperparameterOutOfRange, argument.Syntax.GetLocation(),
                    throws ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning, additionalLocations: null, properties: null,
                    $"{creation.Type!.Name}'s {name}", value.ToString("R", CultureInfo.InvariantCulture), problem));
        }
    }

    static void AnalyzeInvocation(OperationAnalysisContext context, INamedTypeSymbol gradientCheck, INamedTypeSymbol trainer, INamedTypeSymbol networkAttribute)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        string typeName = method.ContainingType.Name;
        if (method.Name == "Fit" && typeName is "StandardScaler" or "MinMaxScaler" && method.ContainingNamespace.ToDisplayString() == "NetDsl.Data")
        {
            var data = invocation.Arguments.FirstOrDefault();
            if (data is not null && DataRoles.Of(data.Value) is { Role: not DataRole.Training } found)
                context.ReportDiagnostic(Diagnostic.Create(NetworkDiagnostics.ScalerLeak, data.Syntax.GetLocation(), found.Name, found switch
                {
                    { Role: DataRole.Whole } => $"is the whole data set that {found.Evidence} divides in this method, dev and test samples included",
                    { FromFlow: true } => $"is {Words(found.Role)} data ({found.Evidence})",
                    _ => $"looks like {Words(found.Role)} data (by its name)",
                }));
            return;
        }
        if (SymbolEqualityComparer.Default.Equals(method.ContainingType, trainer) && method.Name == "Fit")
        {
            AnalyzeFit(context, invocation, networkAttribute);
            return;
        }
        if (!SymbolEqualityComparer.Default.Equals(method.ContainingType, gradientCheck) || method.Name != "Run") return;
        if (InsideTrainingLoop(invocation))
            context.ReportDiagnostic(Diagnostic.Create(NetworkDiagnostics.GradientCheckInLoop, invocation.Syntax.GetLocation()));
        var epsilon = invocation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "epsilon" && a.ArgumentKind == ArgumentKind.Explicit);
        if (epsilon?.Value.ConstantValue is not { HasValue: true, Value: { } raw }) return;
        double value = System.Convert.ToDouble(raw, CultureInfo.InvariantCulture);
        if (value is >= 1e-7 and <= 1e-3) return;
        context.ReportDiagnostic(Diagnostic.Create(NetworkDiagnostics.GradientCheckStep, epsilon.Syntax.GetLocation(),
            value.ToString("R", CultureInfo.InvariantCulture), value < 1e-7 ? "below 1e-7" : "above 1e-3"));
    }

    static void AnalyzeFit(OperationAnalysisContext context, IInvocationOperation invocation, INamedTypeSymbol networkAttribute)
    {
        var dev = invocation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "dev");
        if (dev is not null && DataRoles.Of(dev.Value) is { Role: DataRole.Test } test)
            context.ReportDiagnostic(Diagnostic.Create(NetworkDiagnostics.TestSetSelection, dev.Syntax.GetLocation(), test.Name,
                test.FromFlow ? $"is the test set ({test.Evidence})" : "looks like the test set"));

        var network = invocation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "network")?.Value;
        while (network is IConversionOperation conversion) network = conversion.Operand;
        var options = invocation.Arguments.FirstOrDefault(a => a.Parameter?.Name == "options")?.Value;
        if (network?.Type is not INamedTypeSymbol type || options is not IObjectCreationOperation { Initializer: { } initializer }) return;
        var assignment = initializer.Initializers.OfType<ISimpleAssignmentOperation>()
            .FirstOrDefault(a => a.Target is IPropertyReferenceOperation { Property.Name: "BatchSize" });
        if (assignment?.Value.ConstantValue is not { HasValue: true, Value: 1 }) return;
        var attribute = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, networkAttribute));
        if (attribute is null) return;
        var spec = NetDsl.Generators.Shared.NetworkParser.Parse(type, attribute, context.CancellationToken);
        if (spec.Layers.Any(l => l.Kind == NetDsl.Generators.Shared.LayerKind.BatchNorm))
            context.ReportDiagnostic(Diagnostic.Create(NetworkDiagnostics.BatchNormBatchOfOne, assignment.Syntax.GetLocation(), type.Name));
    }

    /// <summary>Whether a loop around the call also trains (calls TrainStep or Trainer.Fit) in its body.</summary>
    static bool InsideTrainingLoop(IOperation operation)
    {
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
            if (parent is ILoopOperation loop)
                return loop.Body.Descendants().OfType<IInvocationOperation>().Any(i => i.TargetMethod.Name is "TrainStep" or "Fit");
        return false;
    }

    static string Words(DataRole role) => role == DataRole.Dev ? "dev" : "test";

    static bool InheritsFrom(INamedTypeSymbol? type, INamedTypeSymbol baseType)
    {
        for (; type is not null; type = type.BaseType)
            if (SymbolEqualityComparer.Default.Equals(type, baseType)) return true;
        return false;
    }
}
