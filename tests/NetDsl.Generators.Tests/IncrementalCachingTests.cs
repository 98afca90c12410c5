using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetDsl.Generators.Tests;

public class IncrementalCachingTests
{
    [Fact]
    public void An_unrelated_edit_leaves_parse_and_plan_cached()
    {
        var compilation = GeneratorHarness.Compile(GoldenFileTests.Networks["FashionMlp"]);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Unrelated { int X => 1; }", path: "Unrelated.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (var step in new[] { TrackingNames.Parse, TrackingNames.Plan, TrackingNames.Lower })
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"step {step} was {o.Reason}"));
        }
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void An_edit_in_the_same_file_outside_the_network_leaves_the_plan_and_the_output_cached()
    {
        // The generator reports no diagnostics (the analyzer does), so its model holds no source locations: lines added
        // above the network move every span but change nothing the generator emits.
        var compilation = GeneratorHarness.Compile(GoldenFileTests.Networks["FashionMlp"]);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var edited = compilation.ReplaceSyntaxTree(tree,
            tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From("// a comment\n// and another\n" + tree.ToString() + "\nclass Beside { }\n")));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        Assert.All(result.TrackedSteps[TrackingNames.Parse].SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached, $"parse was {o.Reason}"));
        foreach (var step in new[] { TrackingNames.Plan, TrackingNames.Lower })
            Assert.All(result.TrackedSteps[step].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void Editing_the_network_reruns_the_plan()
    {
        var compilation = GeneratorHarness.Compile(GoldenFileTests.Networks["FashionMlp"]);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var changed = compilation.ReplaceSyntaxTree(tree,
            tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(tree.ToString().Replace("Dense(128", "Dense(64"))));
        var result = driver.RunGenerators(changed).GetRunResult().Results.Single();
        Assert.Contains(result.TrackedSteps[TrackingNames.Plan].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("Hidden2Units = 64", result.GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void Pipeline_values_hold_no_symbols_syntax_or_compilations()
    {
        var compilation = GeneratorHarness.Compile(GoldenFileTests.Networks["FashionMlp"]);
        var result = GeneratorHarness.Driver().RunGenerators(compilation).GetRunResult().Results.Single();
        foreach (var step in new[] { TrackingNames.Parse, TrackingNames.Plan, TrackingNames.Lower })
            foreach (var (value, _) in result.TrackedSteps[step].SelectMany(s => s.Outputs))
                AssertPlainData(value, step, new HashSet<object>(ReferenceEqualityComparer.Instance));
    }

    static void AssertPlainData(object? value, string path, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !seen.Add(value)) return;
        Assert.False(value is ISymbol or SyntaxNode or Compilation or Location or SemanticModel or SyntaxTree,
            $"{path} holds a {value.GetType().Name}, which defeats caching");
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items) AssertPlainData(item, $"{path}[{i++}]", seen);
            return;
        }
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (property.GetIndexParameters().Length == 0 && property.Name != "EqualityContract")
                AssertPlainData(property.GetValue(value), $"{path}.{property.Name}", seen);
    }
}
