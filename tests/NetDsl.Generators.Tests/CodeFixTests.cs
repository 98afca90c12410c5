using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using NetDsl.Analyzers.CodeFixes;

namespace NetDsl.Generators.Tests;

/// <summary>Each code fix applied to the diagnostic it fixes gives the expected source, and the fixed source no longer
/// reports that diagnostic.</summary>
public class CodeFixTests
{
    static async Task<string> Fix(string source, string id, CodeFixProvider provider)
    {
        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject("Fixes", LanguageNames.CSharp)
            .WithParseOptions(new CSharpParseOptions(LanguageVersion.Latest))
            .WithCompilationOptions(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary))
            .WithMetadataReferences(GeneratorHarness.Compile(source).References);
        var document = project.AddDocument("Network.cs", SourceText.From(source));
        var compilation = (await document.Project.GetCompilationAsync())!;
        var diagnostic = GeneratorHarness.Analyze(compilation).Single(d => d.Id == id);
        var actions = new List<CodeAction>();
        await provider.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), default));
        var operation = (await Assert.Single(actions).GetOperationsAsync(default)).OfType<ApplyChangesOperation>().Single();
        var fixedText = (await operation.ChangedSolution.GetDocument(document.Id)!.GetTextAsync()).ToString();
        Assert.DoesNotContain(GeneratorHarness.AnalyzeSource(fixedText), d => d.Id == id);
        return fixedText;
    }

    static string Network(string members) => $$"""
        using NetDsl;
        [Network]
        public partial class Net
        {
            [Input(6)] public partial Layer In { get; }
        {{members}}
        }
        """;

    [Fact]
    public async Task The_initializer_fix_writes_the_matching_initializer()
    {
        string fixedText = await Fix(Network("    [Dense(8, Init = Init.XavierUniform)] public partial Layer A { get; }\n    [ReLU] public partial Layer R { get; }\n    [Dense(3)] public partial Layer B { get; }"),
            "ND0105", new InitializerCodeFix());
        Assert.Contains("[Dense(8, Init = Init.HeUniform)] public partial Layer A { get; }", fixedText);
    }

    [Fact]
    public async Task The_constant_initializer_fix_picks_he_before_relu()
    {
        string fixedText = await Fix(Network("    [Dense(8, Init = Init.Zeros)] public partial Layer A { get; }\n    [ReLU] public partial Layer R { get; }\n    [Dense(3)] public partial Layer B { get; }"),
            "ND0106", new InitializerCodeFix());
        Assert.Contains("[Dense(8, Init = Init.He)]", fixedText);
    }

    [Fact]
    public async Task The_linear_collapse_fix_inserts_a_relu_after_the_first_layer()
    {
        string fixedText = await Fix(Network("    [Dense(8)] public partial Layer A { get; }\n    [Dropout(0.1)] public partial Layer D { get; }\n    [Dense(3)] public partial Layer B { get; }"),
            "ND0104", new InsertActivationCodeFix());
        Assert.Contains("    [Dense(8)] public partial Layer A { get; }\n    [ReLU] public partial Layer AReLU { get; }\n    [Dropout(0.1)]", fixedText.ReplaceLineEndings("\n"));
    }
}
