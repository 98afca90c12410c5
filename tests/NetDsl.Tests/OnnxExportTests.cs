using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NetDsl.Tests;

/// <summary>Every layer kind exported to ONNX and run by ONNX Runtime, an independent implementation: its outputs must
/// match <c>PredictBatch</c> within 1e-5 relative, on a batch of 16 and on a single sample.</summary>
public class OnnxExportTests
{
    public static TheoryData<string> Networks => new()
    {
        "FashionMlp", "FashionCnn", "SmallClassifier", "SigmoidRegressor", "SoftmaxInside", "ActivationZoo", "BinaryTagger", "MixedCnn",
        "StridedCnn", "DenseNorm", "ResidualMlp", "ResidualCnn", "ParametricNet", "InputPReLU", "PooledCnn", "NarrowPatchCnn",
        "CeilPoolNoBias", "FloorPool", "PReluThenLeaky", "SequenceCnn", "SequenceGap", "TokenCnn", "CategoryMlp",
        "ConcatMlp", "WideAndDeep", "ConcatCnn", "ProjectedResidual", "ResNet18Narrow", "InputProjection",
    };

    static INeuralNetwork Create(string name) => name switch
    {
        "FashionMlp" => new FashionMlp(seed: 1),
        "FashionCnn" => new FashionCnn(seed: 1),
        "SmallClassifier" => new SmallClassifier(seed: 1),
        "SigmoidRegressor" => new SigmoidRegressor(seed: 1),
        "SoftmaxInside" => new SoftmaxInside(seed: 1),
        "ActivationZoo" => new ActivationZoo(seed: 1),
        "BinaryTagger" => new BinaryTagger(seed: 1),
        "MixedCnn" => new MixedCnn(seed: 1),
        "StridedCnn" => new StridedCnn(seed: 1),
        "DenseNorm" => new DenseNorm(seed: 1).WithSpreadStatistics(),
        "ResidualMlp" => new ResidualMlp(seed: 1),
        "ResidualCnn" => new ResidualCnn(seed: 1),
        "ParametricNet" => new ParametricNet(seed: 1),
        "InputPReLU" => new InputPReLU(seed: 1),
        "PooledCnn" => new PooledCnn(seed: 1),
        "NarrowPatchCnn" => new NarrowPatchCnn(seed: 1),
        "CeilPoolNoBias" => new CeilPoolNoBias(seed: 1),
        "FloorPool" => new FloorPool(seed: 1),
        "SequenceCnn" => new SequenceCnn(seed: 1),
        "SequenceGap" => new SequenceGap(seed: 1),
        "TokenCnn" => new TokenCnn(seed: 1),
        "CategoryMlp" => new CategoryMlp(seed: 1),
        "ConcatMlp" => new ConcatMlp(seed: 1),
        "WideAndDeep" => new WideAndDeep(seed: 1),
        "ConcatCnn" => new ConcatCnn(seed: 1),
        "ProjectedResidual" => new ProjectedResidual(seed: 1),
        "ResNet18Narrow" => new ResNet18Narrow(seed: 1),
        "InputProjection" => new InputProjection(seed: 1),
        _ => new PReluThenLeaky(seed: 1),
    };

    /// <summary>Inputs for a network: ids below 5 (every embedding vocabulary here) for the networks that read ids.</summary>
    static float[] Inputs(string name, int count, int seed) => name is "TokenCnn" or "CategoryMlp"
        ? TestData.Uniform(count, seed, 0, 5).Select(v => MathF.Floor(v)).ToArray()
        : TestData.Uniform(count, seed);

    /// <summary>Runs the exported model in ONNX Runtime on <paramref name="batch"/> samples.</summary>
    static float[] RunOnnx(string path, INeuralNetwork network, float[] inputs, int batch, int[] sampleShape)
    {
        using var session = new InferenceSession(path);
        var tensor = new DenseTensor<float>(inputs, [batch, .. sampleShape]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        return results.Single().AsEnumerable<float>().ToArray();
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void The_exported_model_computes_what_predict_batch_does_in_onnx_runtime(string name)
    {
        var network = Create(name);
        // Two training steps move BatchNorm's running statistics and PReLU's slopes off their initial values.
        var shape = network.Layers[0].OutputShape.ToArray();
        var optimizer = new NetDsl.Optimizers.Adam(0.01);
        for (int step = 0; step < 2; step++)
            network.TrainStep(Inputs(name, 8 * network.InputSize, step + 1), TestData.Uniform(8 * network.OutputSize, step + 11, 0, 1), optimizer);
        string path = Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():N}.onnx");
        network.ExportOnnx(path);
        foreach (int batch in new[] { 16, 1 })
        {
            var inputs = Inputs(name, batch * network.InputSize, 21 + batch);
            var expected = new float[batch * network.OutputSize];
            network.PredictBatch(inputs, expected);
            var actual = RunOnnx(path, network, inputs, batch, shape);
            Assert.Equal(expected.Length, actual.Length);
            double scale = Math.Max(expected.Max(Math.Abs), 1e-6);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale, $"{name} batch {batch} output {i}: NetDsl {expected[i]}, ONNX Runtime {actual[i]}");
        }
        File.Delete(path);
    }

    [Fact]
    public void A_fitted_scaler_travels_with_the_model_so_it_takes_the_raw_features()
    {
        var raw = new NetDsl.Data.Dataset(TestData.Uniform(40 * 72, 5, 0, 255), Enumerable.Range(0, 40).Select(i => i % 4).ToArray(), [2, 6, 6], 4);
        var scaler = NetDsl.Data.StandardScaler.Fit(raw);
        var network = new MixedCnn(seed: 3);
        string path = Path.Combine(Path.GetTempPath(), $"scaled-{Guid.NewGuid():N}.onnx");
        network.ExportOnnx(path, preprocessing: scaler);
        var expected = NetDsl.Training.Metrics.Predict(network, scaler.Transform(raw));
        var actual = RunOnnx(path, network, raw.Features, raw.Count, [2, 6, 6]);
        double scale = Math.Max(expected.Max(Math.Abs), 1e-6);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale, $"output {i}: NetDsl {expected[i]}, ONNX Runtime {actual[i]}");
        var wrong = NetDsl.Data.StandardScaler.Fit(new NetDsl.Data.Dataset(new float[8], [0, 1], [4], 2));
        Assert.Contains("fitted on 4 features per sample but the network takes 72", Assert.Throws<ArgumentException>(() => network.ExportOnnx(path, wrong)).Message);
        File.Delete(path);
    }
}
