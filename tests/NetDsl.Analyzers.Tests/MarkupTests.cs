using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using NetDsl.Analyzers;
using NetDsl.Analyzers.CodeFixes;

namespace NetDsl.Analyzers.Tests;

/// <summary>Analyzer and code-fix tests on Microsoft.CodeAnalysis.Testing, with <c>{|NDxxxx:…|}</c> markup; the
/// framework also applies each fix through FixAll (document, project, solution) and compares.</summary>
public class MarkupTests
{
    // The reference pack comes from NuGet the first time; the generated members are not part of these compilations,
    // so the compiler's "partial member has no implementation" errors are left out of the comparison.
    static readonly ReferenceAssemblies Net10 = new("net10.0", new PackageIdentity("Microsoft.NETCore.App.Ref", "10.0.14"), Path.Combine("ref", "net10.0"));

    static async Task Verify<TFix>(string source, string fixedSource) where TFix : CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<NetworkDeclarationAnalyzer, TFix, DefaultVerifier>
        {
            TestCode = source,
            FixedCode = fixedSource,
            ReferenceAssemblies = Net10,
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        test.TestState.AdditionalReferences.Add(typeof(NetworkAttribute).Assembly);
        test.FixedState.AdditionalReferences.Add(typeof(NetworkAttribute).Assembly);
        await test.RunAsync();
    }

    static async Task VerifyAnalyzer(string source)
    {
        var test = new CSharpAnalyzerTest<NetworkDeclarationAnalyzer, DefaultVerifier>
        {
            TestCode = source,
            ReferenceAssemblies = Net10,
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        test.TestState.AdditionalReferences.Add(typeof(NetworkAttribute).Assembly);
        await test.RunAsync();
    }

    static string Net(string members) => "using NetDsl;\n[{|ND0112:Network|}]\npublic partial class Net\n{\n    [Input(6)] public partial Layer In { get; }\n" + members + "}\n";

    [Fact]
    public async Task Both_mismatched_initializers_are_fixed_one_by_one_and_all_at_once()
    {
        await Verify<InitializerCodeFix>(
            Net("    [{|ND0105:Dense(8, Init = Init.Xavier)|}] public partial Layer A { get; }\n    [ReLU] public partial Layer R { get; }\n" +
                "    [{|ND0105:Dense(8, Init = Init.HeUniform)|}] public partial Layer B { get; }\n    [Tanh] public partial Layer T { get; }\n    [Dense(3)] public partial Layer C { get; }\n"),
            Net("    [Dense(8, Init = Init.He)] public partial Layer A { get; }\n    [ReLU] public partial Layer R { get; }\n" +
                "    [Dense(8, Init = Init.XavierUniform)] public partial Layer B { get; }\n    [Tanh] public partial Layer T { get; }\n    [Dense(3)] public partial Layer C { get; }\n"));
    }

    [Fact]
    public async Task Constant_initialization_is_fixed()
    {
        await Verify<InitializerCodeFix>(
            Net("    [{|ND0106:Dense(8, Init = Init.Ones)|}] public partial Layer A { get; }\n    [Sigmoid] public partial Layer S { get; }\n    [Dense(3)] public partial Layer C { get; }\n"),
            Net("    [Dense(8, Init = Init.Xavier)] public partial Layer A { get; }\n    [Sigmoid] public partial Layer S { get; }\n    [Dense(3)] public partial Layer C { get; }\n"));
    }

    [Fact]
    public async Task A_collapsing_pair_gets_a_relu_after_its_first_layer()
    {
        await Verify<InsertActivationCodeFix>(
            Net("    [Dense(8)] public partial Layer A { get; }\n    [{|ND0104:Dense(3)|}] public partial Layer B { get; }\n"),
            Net("    [Dense(8)] public partial Layer A { get; }\n    [ReLU] public partial Layer AReLU { get; }\n    [Dense(3)] public partial Layer B { get; }\n"));
    }

    [Fact]
    public async Task Errors_sit_on_the_attribute_that_causes_them_and_a_correct_neighbour_is_quiet()
    {
        await VerifyAnalyzer("using NetDsl;\n[Network]\npublic partial class Net\n{\n    [Input(6)] public partial Layer In { get; }\n    [{|ND0003:Dense(-3)|}] public partial Layer A { get; }\n}\n");
        await VerifyAnalyzer(Net("    [Dense(8)] public partial Layer A { get; }\n    [ReLU] public partial Layer R { get; }\n    [Dense(3)] public partial Layer B { get; }\n"));
    }
}
