using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetDsl.Analyzers.CodeFixes;

/// <summary>ND0105/ND0106: writes the initializer the diagnostic names into the layer attribute's <c>Init</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InitializerCodeFix)), Shared]
public sealed class InitializerCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("ND0105", "ND0106");

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue("Fix", out var init) || init is null) continue;
            if (root?.FindNode(diagnostic.Location.SourceSpan) is not AttributeSyntax attribute) continue;
            // One equivalence key for every initializer fix: Fix All then corrects each layer to its own match.
            context.RegisterCodeFix(
                CodeAction.Create($"Use Init.{init}", token => UseInitializer(context.Document, attribute, init, token), nameof(InitializerCodeFix)),
                diagnostic);
        }
    }

    static async Task<Document> UseInitializer(Document document, AttributeSyntax attribute, string init, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var value = SyntaxFactory.ParseExpression($"Init.{init}");
        var existing = attribute.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == "Init");
        AttributeSyntax updated = existing is not null
            ? attribute.ReplaceNode(existing, existing.WithExpression(value.WithTriviaFrom(existing.Expression)))
            : attribute.AddArgumentListArguments(SyntaxFactory.AttributeArgument(SyntaxFactory.NameEquals("Init"), null, value));
        return document.WithSyntaxRoot(root!.ReplaceNode(attribute, updated));
    }
}

/// <summary>ND0104: inserts <c>[ReLU]</c> right after the first of the two linear layers.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InsertActivationCodeFix)), Shared]
public sealed class InsertActivationCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("ND0104");

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue("Fix", out var earlier) || earlier is null) continue;
            var type = root?.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<TypeDeclarationSyntax>();
            var member = type?.Members.OfType<PropertyDeclarationSyntax>().FirstOrDefault(p => p.Identifier.Text == earlier);
            if (type is null || member is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create($"Insert [ReLU] after '{earlier}'", token => InsertReLU(context.Document, type, member, token), "InsertReLU"),
                diagnostic);
        }
    }

    static async Task<Document> InsertReLU(Document document, TypeDeclarationSyntax type, PropertyDeclarationSyntax after, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var names = type.Members.OfType<PropertyDeclarationSyntax>().Select(p => p.Identifier.Text).ToImmutableHashSet();
        string name = after.Identifier.Text + "ReLU";
        for (int i = 2; names.Contains(name); i++) name = after.Identifier.Text + "ReLU" + i;
        string modifiers = string.Join(" ", after.Modifiers.Select(m => m.Text));
        var relu = (PropertyDeclarationSyntax)SyntaxFactory.ParseMemberDeclaration($"[ReLU] {modifiers} Layer {name} {{ get; }}")!;
        relu = relu.WithType(after.Type).WithLeadingTrivia(after.GetLeadingTrivia()).WithTrailingTrivia(after.GetTrailingTrivia());
        return document.WithSyntaxRoot(root!.InsertNodesAfter(after, new[] { relu }));
    }
}
