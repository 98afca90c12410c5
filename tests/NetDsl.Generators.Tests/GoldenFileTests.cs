using System.Runtime.CompilerServices;

namespace NetDsl.Generators.Tests;

/// <summary>The generated code, compared with checked-in baselines. A difference fails; set NETDSL_ACCEPT=1 to rewrite
/// the baselines, then review them in the diff.</summary>
public class GoldenFileTests
{
    public static readonly Dictionary<string, string> Networks = new()
    {
        // The sample's network as the sample declares it: one declaration for the sample, the tests and the benchmarks.
        ["FashionMlp"] = SampleSource("FashionMlp.cs"),
        ["SigmoidRegressor"] = """
            using NetDsl;
            namespace Samples.Nested;
            public partial class Models
            {
                [Network(Loss = Loss.MeanSquaredError)]
                internal partial class SigmoidRegressor
                {
                    [Input(2, 3)] partial Layer Grid { get; }
                    [Flatten] partial Layer Flat { get; }
                    [Dropout(0.25)] partial Layer InputDrop { get; }
                    [Dense(11, Init = Init.LeCun)] partial Layer Hidden { get; }
                    [Tanh] partial Layer Squash { get; }
                    [Sigmoid] partial Layer Gate { get; }
                    [Dense(4)] partial Layer Out { get; }
                    [Sigmoid] partial Layer Probability { get; }
                }
            }
            """,
        ["SoftmaxInside"] = """
            using NetDsl;
            [Network(Loss = Loss.MeanSquaredError)]
            partial class SoftmaxInside
            {
                [Input(5)] private partial Layer Features { get; }
                [Dense(9)] private partial Layer Hidden { get; }
                [Softmax] private partial Layer Attention { get; }
                [Dropout(0.2)] private partial Layer Drop { get; }
                [Dense(4)] private partial Layer Out { get; }
                [Softmax] private partial Layer Distribution { get; }
            }
            """,
        // Strided, valid and averaged windows, LeakyReLU and label smoothing (not the sample's CNN).
        ["StridedCnn"] = """
            using NetDsl;
            namespace Samples;
            [Network(Loss = Loss.SoftmaxCrossEntropy, LabelSmoothing = 0.1)]
            public partial class StridedCnn
            {
                [Input(1, 28, 28)] public partial Layer Image { get; }
                [Conv2D(32, 3)] public partial Layer Conv1 { get; }
                [BatchNorm] public partial Layer Norm1 { get; }
                [ReLU] public partial Layer Act1 { get; }
                [MaxPool(2)] public partial Layer Pool1 { get; }
                [Conv2D(64, 2, Stride = 2, Padding = Padding.Valid)] public partial Layer Conv2 { get; }
                [LeakyReLU(0.1)] public partial Layer Act2 { get; }
                [AvgPool(3, Stride = 2)] public partial Layer Pool2 { get; }
                [GlobalAveragePool] public partial Layer Gap { get; }
                [Dense(128)] public partial Layer Hidden { get; }
                [ReLU] public partial Layer Act3 { get; }
                [Dropout(0.3)] public partial Layer Drop { get; }
                [Dense(10)] public partial Layer Logits { get; }
            }
            """,
        ["ResidualNetwork"] = """
            using NetDsl;
            namespace Samples;
            [Network(Loss = Loss.SoftmaxCrossEntropy)]
            public partial class ResidualNetwork
            {
                [Input(1, 8, 8)] public partial Layer Image { get; }
                [Conv2D(8, 3)] public partial Layer Stem { get; }
                [ReLU] public partial Layer StemAct { get; }
                [Conv2D(8, 3)] public partial Layer Conv1 { get; }
                [BatchNorm] public partial Layer Norm1 { get; }
                [ReLU] public partial Layer Act1 { get; }
                [Conv2D(8, 3)] public partial Layer Conv2 { get; }
                [BatchNorm] public partial Layer Norm2 { get; }
                [Add(nameof(StemAct))] public partial Layer Skip { get; }
                [ReLU] public partial Layer SkipAct { get; }
                [GlobalAveragePool] public partial Layer Gap { get; }
                [Dense(16)] public partial Layer Hidden { get; }
                [ReLU] public partial Layer HiddenAct { get; }
                [Dense(16)] public partial Layer Hidden2 { get; }
                [Add(nameof(HiddenAct))] public partial Layer Skip2 { get; }
                [Dense(10)] public partial Layer Logits { get; }
            }
            """,
        ["InvalidNetwork"] = """
            using NetDsl;
            namespace Samples;
            [Network]
            public partial class InvalidNetwork
            {
                [Input(4)] public partial Layer Features { get; }
                [Dense(-3)] public partial Layer Hidden { get; }
            }
            """,
    };

    [Theory]
    [InlineData("FashionMlp")]
    [InlineData("SigmoidRegressor")]
    [InlineData("SoftmaxInside")]
    [InlineData("StridedCnn")]
    [InlineData("ResidualNetwork")]
    [InlineData("InvalidNetwork")]
    public void Generated_code_matches_the_verified_baseline(string name)
    {
        var run = GeneratorHarness.Generate(Networks[name]);
        Assert.Empty(run.OutputErrors);
        CompareWithBaseline(name, run.Source.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_GPU_twin_matches_its_baseline_and_only_projects_referencing_NetDsl_Gpu_get_one()
    {
        // Without NetDsl.Gpu the generator writes the network's one source (Generate asserts Single); with it, the
        // network's GPU twin and, once for the assembly, the access attribute ILGPU needs.
        Assert.Single(GeneratorHarness.Generate(Networks["FashionMlp"]).Generator.GeneratedSources);
        var (sources, errors) = GeneratorHarness.GenerateWithGpu(Networks["FashionMlp"], Networks["StridedCnn"], Networks["SoftmaxInside"], Networks["InvalidNetwork"]);
        Assert.Empty(errors);
        Assert.Equal(9, sources.Count); // four networks, four twins, one access attribute
        // Every layer kind runs on the GPU; a declaration with errors gets a ToGpu that says so.
        Assert.Contains("cannot run on the GPU: its declaration has errors", sources.Single(s => s.Key.Contains("InvalidNetwork.") && s.Key.EndsWith(".Gpu.g.cs")).Value);
        Assert.Contains("InternalsVisibleTo(\"ILGPURuntime\")", sources["NetDsl.Gpu.Access.g.cs"]);
        CompareWithBaseline("FashionMlp.Gpu", sources.Single(s => s.Key.StartsWith("FashionMnist.FashionMlp.") && s.Key.EndsWith(".Gpu.g.cs")).Value.ReplaceLineEndings("\n"));
        CompareWithBaseline("StridedCnn.Gpu", sources.Single(s => s.Key.StartsWith("Samples.StridedCnn.") && s.Key.EndsWith(".Gpu.g.cs")).Value.ReplaceLineEndings("\n"));
        // Softmax inside: the product stores, a row kernel normalizes; backward, the Jacobian runs row by row.
        CompareWithBaseline("SoftmaxInside.Gpu", sources.Single(s => s.Key.StartsWith("SoftmaxInside.") && s.Key.EndsWith(".Gpu.g.cs")).Value.ReplaceLineEndings("\n"));
    }

    /// <summary>A source file of the sample, read as the sample compiles it.</summary>
    static string SampleSource(string file, [CallerFilePath] string here = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "samples", "FashionMnist", file));

    static void CompareWithBaseline(string name, string actual)
    {
        string path = Path.Combine(GoldenDirectory(), name + ".verified.cs");
        if (Environment.GetEnvironmentVariable("NETDSL_ACCEPT") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"No baseline {path}; run the tests with NETDSL_ACCEPT=1 to create it, then review it.");
        string expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        if (expected != actual) File.WriteAllText(Path.ChangeExtension(path, null).Replace(".verified", ".received") + ".cs", actual);
        Assert.True(expected == actual, $"The generated code for {name} differs from {path}; the new text is beside it as .received.cs. " +
            "If the change is intended, rerun with NETDSL_ACCEPT=1 and review the diff.");
    }

    static string GoldenDirectory([CallerFilePath] string thisFile = "") => Path.Combine(Path.GetDirectoryName(thisFile)!, "Golden");
}
