using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

/// <summary>A [BoltzmannMachine] class as declared: its two layers, their sizes and the visible units' kind.</summary>
internal sealed record BoltzmannSpec(string? Namespace, EquatableArray<ContainingType> ContainingTypes, string TypeName, bool CanEmit,
    string VisibleName, string VisibleModifiers, int Visible, UnitKind VisibleUnits, string HiddenName, string HiddenModifiers, int Hidden,
    EquatableArray<LayerMember> Members, EquatableArray<Problem> Problems)
{
    /// <summary>Whether the declaration is complete and sound, so the generated part may construct the machine.</summary>
    public bool IsValid => Problems.Count == 0;

    /// <summary>The generated file's name, built as a network's is.</summary>
    public string HintName => new NetworkSpec(Namespace, ContainingTypes, TypeName, false, CanEmit, Loss.SoftmaxCrossEntropy, 0, 0, null, null,
        EquatableArray<LayerSpec>.Empty, EquatableArray<Problem>.Empty, null).HintNameBase + ".Boltzmann.g.cs";
}

/// <summary>A partial Layer property with a [Visible] or [Hidden] attribute, and the modifiers its implementation repeats.</summary>
internal sealed record LayerMember(string Name, string Modifiers);

/// <summary>Reads a [BoltzmannMachine] class: exactly one [Visible] and one [Hidden] partial Layer property, positive sizes,
/// a known unit kind, and a type the generated part (which derives it from BoltzmannMachine) can complete.</summary>
internal static class BoltzmannParser
{
    public const string AttributeName = "NetDsl." + nameof(BoltzmannMachineAttribute);
    const string VisibleName = "NetDsl." + nameof(VisibleAttribute), HiddenName = "NetDsl." + nameof(HiddenAttribute);
    static readonly VisibleAttribute VisibleDefaults = new(1);

    /// <summary>The base class the generated part gives the machine.</summary>
    const string GeneratedBase = "NetDsl.Boltzmann.BoltzmannMachine";

    public static BoltzmannSpec Parse(INamedTypeSymbol type, AttributeData attribute, CancellationToken cancellationToken)
    {
        var problems = new List<Problem>();
        var location = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax)
            ?? type.Locations.Select(LocationInfo.From).FirstOrDefault();
        bool canEmit = NetworkParser.CheckType(type, location, problems, cancellationToken, out var containingTypes, GeneratedBase);
        if (type.BaseType is { SpecialType: not SpecialType.System_Object } declaredBase && declaredBase.ToDisplayString() != GeneratedBase)
        {
            problems.Add(Problem.Create(NetworkDiagnostics.InvalidNetworkType, location, type.Name,
                $"declared without a base class (the generated part derives it from BoltzmannMachine; '{declaredBase.Name}' is declared)"));
        }

        var members = new List<LayerMember>();
        (string Name, string Modifiers, int Units, UnitKind Kind)? visible = null, hidden = null;
        foreach (var member in type.GetMembers())
            foreach (var layer in member.GetAttributes())
            {
                string? kind = layer.AttributeClass?.ToDisplayString();
                if (kind != VisibleName && kind != HiddenName) continue;
                var layerLocation = LocationInfo.From(layer.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax) ?? location;
                int units = layer.ConstructorArguments.Length == 1 && layer.ConstructorArguments[0].Value is int count ? count : 0;
                if (units <= 0)
                    problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layerLocation, member.Name, "the unit count", units));
                var unitKind = VisibleDefaults.Units;
                foreach (var named in layer.NamedArguments.Where(a => a.Key == nameof(VisibleAttribute.Units)))
                {
                    if (named.Value.Value is int value && System.Enum.IsDefined(typeof(UnitKind), value)) unitKind = (UnitKind)value;
                    else problems.Add(Problem.Create(NetworkDiagnostics.UnknownOption, layerLocation, $"(UnitKind){named.Value.Value}", "unit kind",
                        string.Join(", ", System.Enum.GetNames(typeof(UnitKind)).Select(n => "UnitKind." + n))));
                }
                if (member is not IPropertySymbol { IsPartialDefinition: true, IsStatic: false, SetMethod: null } property
                    || property.Type.ToDisplayString() != "NetDsl.Layer")
                {
                    problems.Add(Problem.Create(NetworkDiagnostics.InvalidLayerMember, layerLocation, member.Name));
                    continue;
                }
                string modifiers = property.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is PropertyDeclarationSyntax declaration
                    ? string.Join(" ", declaration.Modifiers.Where(m => !m.IsKind(SyntaxKind.PartialKeyword)).Select(m => m.Text)) : "";
                var read = (member.Name, modifiers, units, unitKind);
                members.Add(new LayerMember(member.Name, modifiers));
                if (kind == VisibleName)
                {
                    if (visible is not null) problems.Add(Problem.Create(NetworkDiagnostics.BoltzmannLayers, layerLocation, type.Name, "a second [Visible] layer, " + member.Name));
                    visible = read;
                }
                else
                {
                    if (hidden is not null) problems.Add(Problem.Create(NetworkDiagnostics.BoltzmannLayers, layerLocation, type.Name, "a second [Hidden] layer, " + member.Name));
                    hidden = read;
                }
            }
        if (visible is null) problems.Add(Problem.Create(NetworkDiagnostics.BoltzmannLayers, location, type.Name, "no [Visible] layer"));
        if (hidden is null) problems.Add(Problem.Create(NetworkDiagnostics.BoltzmannLayers, location, type.Name, "no [Hidden] layer"));
        return new BoltzmannSpec(type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null, containingTypes, type.Name, canEmit,
            visible?.Name ?? "", visible?.Modifiers ?? "", visible?.Units ?? 0, visible?.Kind ?? UnitKind.Bernoulli,
            hidden?.Name ?? "", hidden?.Modifiers ?? "", hidden?.Units ?? 0, members.ToEquatableArray(), problems.ToEquatableArray());
    }
}
