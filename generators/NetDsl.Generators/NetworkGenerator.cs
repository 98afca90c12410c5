using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.Shared;

namespace NetDsl.Generators;

/// <summary>Names of the pipeline steps, shared with the tests that check the steps are cached.</summary>
public static class TrackingNames
{
    public const string Parse = nameof(Parse);
    public const string Plan = nameof(Plan);
    public const string Lower = nameof(Lower);
}

/// <summary>The incremental pipeline: [Network] classes → Parse → Plan → Lower → Emit (the CPU class and, where the
/// project references NetDsl.Gpu, its GPU twin).</summary>
[Generator(LanguageNames.CSharp)]
public sealed class NetworkGenerator : IIncrementalGenerator
{
    const string GpuNetworkTypeName = "NetDsl.Gpu.GpuNetwork";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var specs = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                NetworkParser.NetworkAttributeName,
                predicate: static (node, _) => node is ClassDeclarationSyntax or StructDeclarationSyntax or RecordDeclarationSyntax,
                transform: static (context, cancellationToken) =>
                    NetworkParser.Parse((INamedTypeSymbol)context.TargetSymbol, context.Attributes.First(), cancellationToken).WithoutLocations())
            .WithTrackingName(TrackingNames.Parse);

        var plans = specs
            .Select(static (spec, _) => NetworkPlanner.Plan(spec))
            .WithTrackingName(TrackingNames.Plan);

        var schedules = plans
            .Select(static (plan, _) => NetworkLowering.Lower(plan))
            .WithTrackingName(TrackingNames.Lower);

        context.RegisterSourceOutput(schedules, static (output, schedule) =>
        {
            // A type that cannot hold generated members (not partial, generic, ...) gets nothing: its analyzer error says why.
            if (schedule.Plan.Spec.CanEmit) output.AddSource(schedule.Plan.Spec.HintName, CpuEmitter.Emit(schedule));
        });

        // The GPU twins exist only where the project references NetDsl.Gpu (and so ILGPU).
        var gpuReferenced = context.CompilationProvider
            .Select(static (compilation, _) => compilation.GetTypeByMetadataName(GpuNetworkTypeName) is not null);
        context.RegisterSourceOutput(schedules.Combine(gpuReferenced), static (output, pair) =>
        {
            var (schedule, gpu) = pair;
            if (gpu && schedule.Plan.Spec.CanEmit) output.AddSource(schedule.Plan.Spec.HintNameBase + ".Gpu.g.cs", GpuEmitter.Emit(schedule));
        });
        context.RegisterSourceOutput(gpuReferenced.Combine(schedules.Collect()), static (output, pair) =>
        {
            if (pair.Left && !pair.Right.IsEmpty) output.AddSource(GpuEmitter.AccessHintName, GpuEmitter.EmitAccess());
        });

        // [BoltzmannMachine] classes: Parse → Emit (the analyzer reports their problems).
        var machines = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                BoltzmannParser.AttributeName,
                predicate: static (node, _) => node is ClassDeclarationSyntax,
                transform: static (context, cancellationToken) =>
                    BoltzmannParser.Parse((INamedTypeSymbol)context.TargetSymbol, context.Attributes.First(), cancellationToken) is var spec
                        ? spec with { Problems = spec.Problems.Select(p => p with { Location = null }).ToEquatableArray() } : null!);
        context.RegisterSourceOutput(machines, static (output, spec) =>
        {
            if (spec.CanEmit) output.AddSource(spec.HintName, BoltzmannEmitter.Emit(spec));
        });
    }
}
