using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

/// <summary>Parse: reads a [Network] class's attributes into a <see cref="NetworkSpec"/>. Never throws on user input;
/// what it cannot read becomes a <see cref="Problem"/>. Shared by the generator and the analyzers.</summary>
internal static class NetworkParser
{
    public const string NetworkAttributeName = "NetDsl." + nameof(NetworkAttribute);
    /// <summary>The generator's full type name, which Roslyn puts in the path of every tree it adds.</summary>
    public const string GeneratorTypeName = "NetDsl.Generators.NetworkGenerator";
    const string LayerAttributeBaseName = "NetDsl." + nameof(LayerAttribute);

    // Defaults are the attributes' own: the runtime's DSL source is compiled into this assembly (src/NetDsl/Dsl).
    static readonly NetworkAttribute NetworkDefaults = new();
    static readonly DenseAttribute DenseDefaults = new(1);
    static readonly ConvolutionAttribute ConvolutionDefaults = new Conv2DAttribute(1, 1);
    static readonly MaxPoolAttribute MaxPoolDefaults = new(1);
    static readonly AvgPoolAttribute AvgPoolDefaults = new(1);
    static readonly PReLUAttribute PReLUDefaults = new();
    static readonly BatchNormAttribute BatchNormDefaults = new();
    const string LayerTypeName = "NetDsl.Layer";

    public static NetworkSpec Parse(INamedTypeSymbol type, AttributeData networkAttribute, CancellationToken cancellationToken)
    {
        var problems = new List<Problem>();
        var attributeSyntax = networkAttribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        var location = LocationInfo.From(attributeSyntax) ?? type.Locations.Select(LocationInfo.From).FirstOrDefault();

        bool canEmit = CheckType(type, location, problems, cancellationToken, out var containingTypes);
        var loss = ReadLoss(networkAttribute, attributeSyntax, location, problems);
        double labelSmoothing = networkAttribute.NamedArguments.FirstOrDefault(a => a.Key == nameof(NetworkAttribute.LabelSmoothing)).Value.Value is double smoothing
            ? smoothing : NetworkDefaults.LabelSmoothing;
        int classes = networkAttribute.NamedArguments.FirstOrDefault(a => a.Key == nameof(NetworkAttribute.Classes)).Value.Value is int declaredClasses
            ? declaredClasses : NetworkDefaults.Classes;
        // A target bound counts as declared only when written; unset reads as unbounded.
        double? targetMinimum = networkAttribute.NamedArguments.FirstOrDefault(a => a.Key == nameof(NetworkAttribute.TargetMinimum)).Value.Value as double?;
        double? targetMaximum = networkAttribute.NamedArguments.FirstOrDefault(a => a.Key == nameof(NetworkAttribute.TargetMaximum)).Value.Value as double?;

        var layers = new List<LayerSpec>();
        foreach (var member in type.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var layerAttributes = member.GetAttributes().Where(IsLayerAttribute).ToList();
            if (layerAttributes.Count == 0) continue;
            if (layerAttributes.Count > 1)
                problems.Add(Problem.Create(NetworkDiagnostics.MultipleLayerAttributes, AttributeLocation(layerAttributes[1], cancellationToken),
                    member.Name, string.Join(", ", layerAttributes.Select(a => "[" + KindName(a) + "]"))));
            var layer = ReadLayer(member, layerAttributes[0], problems, cancellationToken);
            if (layer is not null) layers.Add(layer);
        }

        // Declaration order is the layer order; members of other partial parts follow by file path.
        var ordered = layers
            .OrderBy(l => l.Location?.FilePath ?? "", StringComparer.Ordinal)
            .ThenBy(l => l.Location?.Span.Start ?? 0)
            .ToEquatableArray();

        return new NetworkSpec(
            type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null,
            containingTypes, type.Name, IsDocumented(type, cancellationToken), canEmit, loss, labelSmoothing, classes, targetMinimum, targetMaximum, ordered, problems.ToEquatableArray(), location);
    }

    static bool IsDocumented(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        type.DeclaringSyntaxReferences.Any(reference => reference.GetSyntax(cancellationToken).GetLeadingTrivia().Any(trivia =>
            trivia.IsKind(SyntaxKind.SingleLineDocumentationCommentTrivia) || trivia.IsKind(SyntaxKind.MultiLineDocumentationCommentTrivia)));

    internal static bool CheckType(INamedTypeSymbol type, LocationInfo? location, List<Problem> problems, CancellationToken cancellationToken,
        out EquatableArray<ContainingType> containingTypes, string? generatedBase = null)
    {
        var requirements = new List<string>();
        if (type.TypeKind != TypeKind.Class || type.IsRecord) requirements.Add("a class (not a struct, record or interface)");
        if (!IsPartial(type, cancellationToken)) requirements.Add("declared partial");
        if (type.IsGenericType) requirements.Add("non-generic");
        if (type.IsStatic) requirements.Add("non-static");
        // The generated part is a declaration in a file of its own and brings constructors that chain to base().
        if (type.IsFileLocal) requirements.Add("not file-local (the generated part is another file)");
        if (type.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) is TypeDeclarationSyntax { ParameterList: not null }))
            requirements.Add("without a primary constructor (the generated constructors would have to call it)");
        if (type.TypeKind == TypeKind.Class && type.BaseType is { SpecialType: not SpecialType.System_Object } baseType && baseType.ToDisplayString() != generatedBase &&
            !baseType.InstanceConstructors.Any(c => c.DeclaredAccessibility is not Accessibility.Private && c.Parameters.All(p => p.IsOptional || p.IsParams)))
            requirements.Add($"derived from a class with an accessible parameterless constructor ('{baseType.Name}' has none)");

        var outer = new List<ContainingType>();
        for (var containing = type.ContainingType; containing is not null; containing = containing.ContainingType)
        {
            if (!IsPartial(containing, cancellationToken) || containing.IsGenericType)
                requirements.Add($"nested only in non-generic partial types ('{containing.Name}' is not)");
            string keyword = containing.IsRecord
                ? (containing.TypeKind == TypeKind.Struct ? "record struct" : "record")
                : containing.TypeKind switch { TypeKind.Struct => "struct", TypeKind.Interface => "interface", _ => "class" };
            outer.Insert(0, new ContainingType(keyword, containing.Name));
        }
        containingTypes = outer.ToEquatableArray();
        if (requirements.Count == 0) return true;
        problems.Add(Problem.Create(NetworkDiagnostics.InvalidNetworkType, location, type.Name, string.Join(", ", requirements)));
        return false;
    }

    static bool IsPartial(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        type.DeclaringSyntaxReferences.Length > 0 &&
        type.DeclaringSyntaxReferences.All(r =>
            r.GetSyntax(cancellationToken) is TypeDeclarationSyntax declaration && declaration.Modifiers.Any(SyntaxKind.PartialKeyword));

    static Loss ReadLoss(AttributeData attribute, AttributeSyntax? syntax, LocationInfo? location, List<Problem> problems)
    {
        foreach (var argument in attribute.NamedArguments)
        {
            if (argument.Key != nameof(NetworkAttribute.Loss)) continue;
            if (argument.Value.Value is int value && Enum.IsDefined(typeof(Loss), value)) return (Loss)value;
            var argumentSyntax = syntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == nameof(NetworkAttribute.Loss));
            problems.Add(Problem.Create(NetworkDiagnostics.UnknownOption, LocationInfo.From(argumentSyntax) ?? location,
                argumentSyntax?.Expression.ToString() ?? $"(Loss){argument.Value.Value}", "loss",
                string.Join(", ", Enum.GetNames(typeof(Loss)).Select(n => "Loss." + n))));
        }
        return NetworkDefaults.Loss;
    }

    static bool IsLayerAttribute(AttributeData attribute)
    {
        for (var type = attribute.AttributeClass?.BaseType; type is not null; type = type.BaseType)
            if (type.ToDisplayString() == LayerAttributeBaseName) return true;
        return false;
    }

    static string KindName(AttributeData attribute)
    {
        var name = attribute.AttributeClass?.Name ?? "?";
        return name.EndsWith("Attribute", StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;
    }

    static LocationInfo? AttributeLocation(AttributeData attribute, CancellationToken cancellationToken) =>
        LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken));

    static LayerSpec? ReadLayer(ISymbol member, AttributeData attribute, List<Problem> problems, CancellationToken cancellationToken)
    {
        var location = AttributeLocation(attribute, cancellationToken);
        string kindName = KindName(attribute);
        if (!Enum.TryParse<LayerKind>(kindName, out var kind))
        {
            problems.Add(Problem.Create(NetworkDiagnostics.UnreadableAttribute, location, kindName, member.Name,
                "it derives from LayerAttribute but is not a layer NetDsl knows"));
            return null;
        }

        var property = member as IPropertySymbol;
        bool implementable = property is { IsPartialDefinition: true, IsStatic: false, IsIndexer: false, SetMethod: null, GetMethod: not null }
                             && property.Type.ToDisplayString() == LayerTypeName;
        if (!implementable)
            problems.Add(Problem.Create(NetworkDiagnostics.InvalidLayerMember, LocationInfo.From(member.Locations.FirstOrDefault() ?? Location.None) ?? location, member.Name));
        string modifiers = property?.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is PropertyDeclarationSyntax declaration
            ? string.Join(" ", declaration.Modifiers.Where(m => !m.IsKind(SyntaxKind.PartialKeyword)).Select(m => m.Text))
            : "";

        var layer = new LayerSpec
        {
            Name = member.Name, Kind = kind, Modifiers = modifiers, Implementable = implementable, Location = location,
            Init = kind is LayerKind.Conv2D or LayerKind.Conv1D ? ConvolutionDefaults.Init : DenseDefaults.Init,
        };
        bool needsArguments = kind is LayerKind.Input or LayerKind.Dense or LayerKind.Embedding or LayerKind.Dropout or LayerKind.LeakyReLU or LayerKind.ELU
            or LayerKind.Conv2D or LayerKind.Conv1D or LayerKind.MaxPool or LayerKind.AvgPool or LayerKind.Add or LayerKind.Concat or LayerKind.Maxout;
        int NamedInt(string name, int fallback) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value is int value ? value : fallback;
        double NamedDouble(string name, double fallback) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value is double value ? value : fallback;
        bool trainable = attribute.NamedArguments.FirstOrDefault(a => a.Key == nameof(DenseAttribute.Trainable)).Value.Value is bool declaredTrainable
            ? declaredTrainable : DenseDefaults.Trainable;
        layer = layer with { Trainable = trainable };
        int Argument(int index) => attribute.ConstructorArguments.Length > index && attribute.ConstructorArguments[index].Value is int value ? value : 0;
        if (needsArguments && (attribute.AttributeConstructor is null || attribute.ConstructorArguments.Length == 0))
        {
            problems.Add(Problem.Create(NetworkDiagnostics.UnreadableAttribute, location, kindName, member.Name,
                "its arguments do not match a constructor"));
            return layer with { ArgumentsRead = false };
        }

        switch (kind)
        {
            case LayerKind.Input:
                var shape = attribute.ConstructorArguments[0];
                // [Input(null)] and [Input(default)] pass no array: Plan reports the empty shape.
                layer = layer with
                {
                    Shape = shape.IsNull ? EquatableArray<int>.Empty : (shape.Kind == TypedConstantKind.Array
                            ? shape.Values.Select(v => v.Value is int i ? i : 0)
                            : new[] { shape.Value is int single ? single : 0 })
                        .ToEquatableArray(),
                };
                break;
            case LayerKind.Conv2D or LayerKind.Conv1D:
                layer = layer with
                {
                    Filters = Argument(0),
                    Window = new WindowSpec(Argument(1), NamedInt(nameof(ConvolutionAttribute.Stride), ConvolutionDefaults.Stride),
                        (Padding)NamedInt(nameof(ConvolutionAttribute.Padding), (int)ConvolutionDefaults.Padding),
                        NamedInt(nameof(ConvolutionAttribute.PaddingSize), ConvolutionDefaults.PaddingSize), RoundingMode.Floor),
                };
                layer = ReadInit(layer, attribute, location, problems);
                break;
            case LayerKind.Dense:
                layer = ReadInit(layer with { Units = Argument(0) }, attribute, location, problems);
                break;
            case LayerKind.Embedding:
                layer = layer with { Vocabulary = Argument(0), Units = Argument(1) };
                break;
            case LayerKind.MaxPool or LayerKind.AvgPool:
                var (stride, rounding) = kind == LayerKind.MaxPool
                    ? (MaxPoolDefaults.Stride, MaxPoolDefaults.RoundingMode) : (AvgPoolDefaults.Stride, AvgPoolDefaults.RoundingMode);
                layer = layer with
                {
                    Window = new WindowSpec(Argument(0), NamedInt(nameof(MaxPoolAttribute.Stride), stride), Padding.Valid, 0,
                        (RoundingMode)NamedInt(nameof(MaxPoolAttribute.RoundingMode), (int)rounding)),
                };
                break;
            case LayerKind.Add or LayerKind.Concat:
                layer = layer with
                {
                    Source = attribute.ConstructorArguments[0].Value as string ?? "",
                    Projection = attribute.NamedArguments.FirstOrDefault(a => a.Key == nameof(AddAttribute.Projection)).Value.Value is true,
                };
                break;
            case LayerKind.Maxout:
                layer = layer with { Pieces = Argument(0) };
                break;
            case LayerKind.PReLU:
                layer = layer with { Parameter = NamedDouble(nameof(PReLUAttribute.InitialSlope), PReLUDefaults.InitialSlope) };
                break;
            case LayerKind.BatchNorm:
                layer = layer with
                {
                    Parameter = NamedDouble(nameof(BatchNormAttribute.Momentum), BatchNormDefaults.Momentum),
                    Epsilon = NamedDouble(nameof(BatchNormAttribute.Epsilon), BatchNormDefaults.Epsilon),
                };
                break;
            case LayerKind.Dropout or LayerKind.LeakyReLU or LayerKind.ELU:
                layer = layer with { Parameter = attribute.ConstructorArguments[0].Value is double declared ? declared : double.NaN };
                break;
        }
        return layer;
    }

    /// <summary>A product's initializer, its arguments and whether it adds a bias, with the attribute's defaults where
    /// they are not written.</summary>
    static LayerSpec ReadInit(LayerSpec layer, AttributeData attribute, LocationInfo? location, List<Problem> problems)
    {
        var init = layer.Init;
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Key != nameof(DenseAttribute.Init)) continue;
            if (named.Value.Value is int value && Enum.IsDefined(typeof(Init), value))
                init = (Init)value;
            else
                problems.Add(Problem.Create(NetworkDiagnostics.UnknownOption, location, $"(Init){named.Value.Value}", "initializer",
                    string.Join(", ", Enum.GetNames(typeof(Init)).Select(n => "Init." + n))));
        }
        bool bias = attribute.NamedArguments.FirstOrDefault(a => a.Key == nameof(DenseAttribute.Bias)).Value.Value is bool declaredBias
            ? declaredBias : layer.Kind is LayerKind.Conv2D or LayerKind.Conv1D ? ConvolutionDefaults.Bias : DenseDefaults.Bias;
        return layer with { Init = init, InitArguments = InitArguments(init, attribute), Bias = bias };
    }

    /// <summary>The named arguments an initializer takes, with the attribute's defaults where they are not written.</summary>
    static EquatableArray<double> InitArguments(Init init, AttributeData attribute)
    {
        double Named(string name, double fallback) =>
            attribute.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value is double value ? value : fallback;
        return (init switch
        {
            Init.Constant => new[] { Named(nameof(DenseAttribute.InitValue), DenseDefaults.InitValue) },
            Init.Uniform => new[] { Named(nameof(DenseAttribute.InitLow), DenseDefaults.InitLow), Named(nameof(DenseAttribute.InitHigh), DenseDefaults.InitHigh) },
            Init.Normal => new[] { Named(nameof(DenseAttribute.InitMean), DenseDefaults.InitMean), Named(nameof(DenseAttribute.InitStandardDeviation), DenseDefaults.InitStandardDeviation) },
            _ => new double[0],
        }).ToEquatableArray();
    }
}
