using NetDsl.Training;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>Every generated backward pass against centered finite differences of the same network's loss, in double.</summary>
public class GradientCheckTests(ITestOutputHelper output)
{
    void AssertGood(INeuralNetwork network, float[] inputs, float[] targets)
    {
        var report = GradientCheck.Run(network, inputs, targets, epsilon: 1e-6, maxChecked: 100_000);
        output.WriteLine(report.ToString());
        foreach (var tensor in report.Tensors)
            Assert.True(tensor.RelativeDifference < 1e-7, tensor.ToString());
        Assert.Equal(GradientVerdict.Good, report.Overall.Verdict);
        Assert.Equal(network.ParameterCount, report.Overall.Checked);
    }

    [Fact]
    public void Relu_tanh_classifier_with_dropout_off_matches_finite_differences_in_double()
    {
        var network = new SmallClassifier(seed: 3);
        // Biases away from zero keep ReLU inputs off the kink at the perturbation scale.
        var theta = network.Parameters;
        var random = new Rng(9);
        foreach (var tensor in ((INeuralNetwork)network).ParameterTensors)
            if (!tensor.WeightDecay)
                for (int i = 0; i < tensor.Length; i++) theta[tensor.Offset + i] = (float)random.NextDouble(-0.5, 0.5);
        AssertGood(network, TestData.Uniform(7 * 6, 1), TestData.OneHot(7, 3, 2));
    }

    [Fact]
    public void Sigmoid_regressor_with_input_dropout_and_stacked_activations_matches_finite_differences()
    {
        var network = new SigmoidRegressor(seed: 5);
        AssertGood(network, TestData.Uniform(9 * 6, 3), TestData.Uniform(9 * 4, 4, 0, 1));
    }

    [Fact]
    public void Softmax_inside_the_network_and_at_the_output_matches_finite_differences()
    {
        var network = new SoftmaxInside(seed: 7);
        AssertGood(network, TestData.Uniform(5 * 5, 5), TestData.Distribution(5, 4, 6));
    }

    [Fact]
    public void Tiny_tanh_network_with_mean_squared_error_matches_finite_differences()
    {
        var network = new TinyTanh(seed: 1);
        AssertGood(network, TestData.Uniform(13 * 4, 7), TestData.Uniform(13 * 4, 8));
    }

    [Fact]
    public void Leaky_relu_elu_selu_with_label_smoothing_match_finite_differences()
    {
        var network = new ActivationZoo(seed: 4);
        AssertGood(network, TestData.Uniform(6 * 5, 9), TestData.OneHot(6, 4, 10));
    }

    [Fact]
    public void Binary_cross_entropy_fused_with_the_sigmoid_matches_finite_differences()
    {
        var network = new BinaryTagger(seed: 6);
        var targets = TestData.Uniform(7 * 3, 12, 0, 1).Select(v => v > 0.5f ? 1f : 0f).ToArray();
        AssertGood(network, TestData.Uniform(7 * 6, 11), targets);
    }

    [Fact]
    public void Conv_batchnorm_relu_maxpool_dense_dropout_softmax_matches_finite_differences()
    {
        var network = new MixedCnn(seed: 2);
        AssertGood(network, TestData.Uniform(5 * 72, 13), TestData.Distribution(5, 4, 14));
    }

    [Fact]
    public void Strided_and_padded_convolutions_average_pooling_and_dense_batchnorm_match_finite_differences()
    {
        var network = new StridedCnn(seed: 8);
        AssertGood(network, TestData.Uniform(6 * 81, 15), TestData.OneHot(6, 3, 16));
    }

    [Fact]
    public void Residual_mlp_with_skips_from_an_activation_the_input_and_itself_matches_finite_differences()
    {
        var network = new ResidualMlp(seed: 3);
        AssertGood(network, TestData.Uniform(7 * 6, 17), TestData.Uniform(7 * 3, 18));
    }

    [Fact]
    public void Residual_convolution_stage_matches_finite_differences()
    {
        var network = new ResidualCnn(seed: 4);
        AssertGood(network, TestData.Uniform(5 * 50, 19), TestData.OneHot(5, 3, 20));
    }

    [Fact]
    public void Prelu_slopes_and_maxout_match_finite_differences()
    {
        var network = new ParametricNet(seed: 6);
        AssertGood(network, TestData.Uniform(4 * 32, 21), TestData.OneHot(4, 3, 22));
        AssertGood(new InputPReLU(seed: 1), TestData.Uniform(5 * 4, 23), TestData.Uniform(5 * 2, 24));
    }

    [Fact]
    public void Pooling_fused_into_convolutions_matches_finite_differences()
    {
        AssertGood(new PooledCnn(seed: 9), TestData.Uniform(4 * 64, 25), TestData.OneHot(4, 3, 26));
    }

    [Fact]
    public void Concatenations_of_features_inputs_and_channel_maps_match_finite_differences()
    {
        AssertGood(new ConcatMlp(seed: 7), TestData.Uniform(6 * 5, 35), TestData.OneHot(6, 3, 36));
        AssertGood(new WideAndDeep(seed: 8), TestData.Uniform(5 * 4, 37), TestData.Uniform(5 * 2, 38));
        AssertGood(new ConcatCnn(seed: 9), TestData.Uniform(4 * 72, 39), TestData.OneHot(4, 3, 40));
    }

    [Fact]
    public void A_projected_shortcut_matches_finite_differences()
    {
        AssertGood(new ProjectedResidual(seed: 10), TestData.Uniform(3 * 192, 41), TestData.OneHot(3, 3, 42));
        AssertGood(new InputProjection(seed: 11), TestData.Uniform(3 * 72, 43), TestData.Uniform(3 * 2, 44));
    }

    [Fact]
    public void Embedding_tables_match_finite_differences_at_the_rows_the_ids_name()
    {
        // Ids repeat within and across samples, so rows sum several positions' gradients; some rows are never named.
        float[] tokens = [0, 3, 3, 8, 1, 0, 5, 5, 2, 7, 3, 0, 4, 4, 4, 6, 1, 2];
        AssertGood(new TokenCnn(seed: 2), tokens, TestData.OneHot(3, 2, 33));
        AssertGood(new CategoryMlp(seed: 3), [0, 4, 2, 1, 1, 3, 4, 0, 0], TestData.Uniform(3, 34));
    }

    [Fact]
    public void One_dimensional_convolutions_and_pooling_match_finite_differences()
    {
        AssertGood(new SequenceCnn(seed: 4), TestData.Uniform(4 * 240, 29), TestData.OneHot(4, 3, 30));
        AssertGood(new SequenceGap(seed: 5), TestData.Uniform(3 * 33, 31), TestData.Uniform(3 * 2, 32));
    }

    [Fact]
    public void Elastic_net_penalty_on_dense_and_convolution_weights_matches_finite_differences()
    {
        var network = new MixedCnn(seed: 3) { Regularization = Regularization.ElasticNet(0.05, 0.3) };
        AssertGood(network, TestData.Uniform(4 * 72, 27), TestData.Distribution(4, 4, 28));
        var dense = new SmallClassifier(seed: 2) { Regularization = Regularization.Ridge(0.5) };
        AssertGood(dense, TestData.Uniform(5 * 6, 29), TestData.OneHot(5, 3, 30));
    }

    [Fact]
    public void Weight_gradient_of_a_narrow_patch_taken_transposed_matches_finite_differences()
    {
        AssertGood(new NarrowPatchCnn(seed: 4), TestData.Uniform(5 * 36, 31), TestData.OneHot(5, 3, 32));
        // With the penalty, which joins the transposed product's first sample.
        var penalized = new NarrowPatchCnn(seed: 5) { Regularization = Regularization.ElasticNet(0.05, 0.3) };
        AssertGood(penalized, TestData.Uniform(5 * 36, 33), TestData.OneHot(5, 3, 34));
    }

    [Fact]
    public void Convolutions_shared_between_cores_match_finite_differences()
    {
        var network = new SharedCnn(seed: 4) { Regularization = Regularization.ElasticNet(0.01, 0.1) };
        AssertGood(network, TestData.Uniform(28 * 300, 31), TestData.OneHot(28, 3, 32));
    }

    [Fact]
    public void Fashion_sized_network_passes_a_sampled_check()
    {
        var network = new FashionMlp(seed: 2);
        var random = new Rng(4);
        var theta = network.Parameters;
        foreach (var tensor in ((INeuralNetwork)network).ParameterTensors)
            if (!tensor.WeightDecay)
                for (int i = 0; i < tensor.Length; i++) theta[tensor.Offset + i] = (float)random.NextDouble(0.1, 0.3);
        var report = GradientCheck.Run(network, TestData.Uniform(4 * 784, 11, 0, 1), TestData.OneHot(4, 10, 12), epsilon: 1e-6, maxChecked: 600);
        output.WriteLine(report.ToString());
        Assert.True(report.Overall.RelativeDifference < 1e-7, report.Overall.ToString());
        Assert.All(report.Tensors, t => Assert.True(t.Checked > 0));
    }

    [Fact]
    public void A_wrong_gradient_is_classified_as_a_bug()
    {
        Assert.Equal(GradientVerdict.Good, GradientCheck.Classify(3e-8));
        Assert.Equal(GradientVerdict.Check, GradientCheck.Classify(1e-5));
        Assert.Equal(GradientVerdict.Bug, GradientCheck.Classify(2e-3));
        var report = GradientCheck.Run(new BrokenGradient(new TinyTanh(seed: 1)), TestData.Uniform(3 * 4, 1), TestData.Uniform(3 * 4, 2), epsilon: 1e-6);
        Assert.Equal(GradientVerdict.Bug, report.Overall.Verdict);
    }

    /// <summary>Doubles one analytic gradient: the check must notice.</summary>
    sealed class BrokenGradient(INeuralNetwork inner) : INeuralNetwork
    {
        public string Name => inner.Name;
        public int InputSize => inner.InputSize;
        public int OutputSize => inner.OutputSize;
        public int ParameterCount => inner.ParameterCount;
        public Loss Loss => inner.Loss;
        public IReadOnlyList<Layer> Layers => inner.Layers;
        public IReadOnlyList<ParameterTensor> ParameterTensors => inner.ParameterTensors;
        public Span<float> Parameters => inner.Parameters;
        public Span<float> Gradients => inner.Gradients;
        public bool DropoutEnabled { get => inner.DropoutEnabled; set => inner.DropoutEnabled = value; }
        public long DropoutSampleOffset { get => inner.DropoutSampleOffset; set => inner.DropoutSampleOffset = value; }
        public void Freeze(string layer) => inner.Freeze(layer);
        public void Unfreeze(string layer) => inner.Unfreeze(layer);
        public IReadOnlyList<string> FrozenLayers => inner.FrozenLayers;
        public void ApplyGradients(NetDsl.Optimizers.IOptimizer optimizer) => inner.ApplyGradients(optimizer);
        public InferencePrecision InferencePrecision { get => inner.InferencePrecision; set => inner.InferencePrecision = value; }
        public Training.Regularization Regularization { get => inner.Regularization; set => inner.Regularization = value; }
        public Span<float> RunningStatistics => inner.RunningStatistics;
        public IReadOnlyList<ParameterTensor> StatisticsTensors => inner.StatisticsTensors;
        public void PredictBatch(ReadOnlySpan<float> inputs, Span<float> outputs) => inner.PredictBatch(inputs, outputs);
        public float ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets) => inner.ComputeGradients(inputs, targets);
        public float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Optimizers.IOptimizer optimizer) => inner.TrainStep(inputs, targets, optimizer);
        public float EvaluateLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets) => inner.EvaluateLoss(inputs, targets);
        public double ComputeLoss(ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, ReadOnlySpan<double> targets) => inner.ComputeLoss(parameters, inputs, targets);
        public string? FindFirstNonFiniteLayer() => inner.FindFirstNonFiniteLayer();
        public void ExportOnnx(string path, NetDsl.Data.IFeatureScaling? preprocessing = null, string? docString = null) => inner.ExportOnnx(path, preprocessing, docString);
        public ReadOnlySpan<float> ActivationOutput(string layer) => inner.ActivationOutput(layer);
        public Span<double> DropoutRates => inner.DropoutRates;
        public IReadOnlyList<string> DropoutLayers => inner.DropoutLayers;

        public double ComputeGradients(ReadOnlySpan<double> parameters, ReadOnlySpan<double> inputs, ReadOnlySpan<double> targets, Span<double> gradients)
        {
            double loss = inner.ComputeGradients(parameters, inputs, targets, gradients);
            for (int i = 0; i < gradients.Length; i++) gradients[i] *= i % 2 == 0 ? 2 : 1;
            return loss;
        }
    }
}
