using Microsoft.CodeAnalysis;

namespace NetDsl.Generators.Tests;

/// <summary>[BoltzmannMachine] declarations: a sound one generates a BoltzmannMachine with its sizes as constants; each
/// mistake gets its diagnostic on the attribute that makes it, and no other compile error.</summary>
public class BoltzmannDeclarationTests
{
    static string Machine(string members, string header = "[BoltzmannMachine]\npublic partial class Rbm") => $$"""
        using NetDsl;
        namespace Samples;
        {{header}}
        {
        {{members}}
        }
        """;

    [Fact]
    public void A_sound_declaration_becomes_a_Boltzmann_machine_with_named_sizes()
    {
        var run = GeneratorHarness.Generate(Machine("[Visible(6, Units = UnitKind.Gaussian)] public partial Layer Pixels { get; }\n[Hidden(3)] public partial Layer Features { get; }"));
        Assert.Empty(run.OutputErrors);
        Assert.Empty(run.Analyzer.Where(d => d.Severity == DiagnosticSeverity.Error));
        Assert.Contains("partial class Rbm : global::NetDsl.Boltzmann.BoltzmannMachine", run.Source);
        Assert.Contains("public const int PixelsUnits = 6;", run.Source);
        Assert.Contains("public const int FeaturesUnits = 3;", run.Source);
        Assert.Contains("base(\"Rbm\", PixelsUnits, FeaturesUnits, global::NetDsl.UnitKind.Gaussian, seed)", run.Source);
    }

    public static TheoryData<string, string, string, string> Mistakes => new()
    {
        { Machine("[Visible(6)] public partial Layer Pixels { get; }"), "ND0126", "BoltzmannMachine", "has no [Hidden] layer" },
        { Machine("[Visible(6)] public partial Layer Pixels { get; }\n[Hidden(3)] public partial Layer A { get; }\n[Hidden(2)] public partial Layer B { get; }"), "ND0126", "Hidden(2)", "a second [Hidden] layer, B" },
        { Machine("[Visible(0)] public partial Layer Pixels { get; }\n[Hidden(3)] public partial Layer Features { get; }"), "ND0003", "Visible(0)", "the unit count must be positive, got 0" },
        { Machine("[Visible(6, Units = (UnitKind)7)] public partial Layer Pixels { get; }\n[Hidden(3)] public partial Layer Features { get; }"), "ND0005", "Visible(6, Units = (UnitKind)7)", "is not a known unit kind" },
        { Machine("[Visible(6)] public partial Layer Pixels { get; }\n[Hidden(3)] public partial Layer Features { get; }", "[BoltzmannMachine]\npublic partial class Rbm : System.Exception"), "ND0007", "BoltzmannMachine", "declared without a base class" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_mistake_is_reported_on_its_attribute(string source, string id, string attributeText, string message)
    {
        var run = GeneratorHarness.Generate(source);
        var diagnostic = Assert.Single(run.Analyzer, d => d.Id == id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains(attributeText, diagnostic.Location.SourceTree!.ToString().Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Contains(message, diagnostic.GetMessage());
        // No cascade: the layer properties still get (throwing) bodies.
        Assert.Empty(run.OutputErrors);
    }
}
