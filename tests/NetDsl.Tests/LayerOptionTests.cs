using NetDsl.Training;
using Xunit.Abstractions;

namespace NetDsl.Tests;

/// <summary>Layer options PyTorch models need: products without a bias, pooling that rounds its window count down or
/// up, and PReLU's own initial slope. Each is checked against a hand-written forward pass in double and finite differences.</summary>
public class LayerOptionTests(ITestOutputHelper output)
{
    [Fact]
    public void Products_without_bias_hold_no_bias_tensor()
    {
        var network = new CeilPoolNoBias(seed: 1);
        Assert.Equal(["Conv.weight", "Out.weight"], ((INeuralNetwork)network).ParameterTensors.Select(t => t.Name));
        Assert.Equal(3 * 2 * 3 * 3 + 4 * 12, CeilPoolNoBias.ParameterCount);
        Assert.Equal(27, CeilPoolNoBias.MaxSize);
        Assert.Equal(12, CeilPoolNoBias.MeanSize);
    }

    [Fact]
    public void Ceil_pooling_covers_the_overhanging_windows_inside_the_input_as_pytorch_ceil_mode()
    {
        var network = new CeilPoolNoBias(seed: 3);
        var x = TestData.Uniform(3 * 50, 4);
        var outputs = new float[3 * 4];
        network.PredictBatch(x, outputs);
        var theta = network.Parameters.ToArray();
        for (int s = 0; s < 3; s++)
        {
            var expected = CeilPoolReference(theta, x.AsSpan(s * 50, 50).ToArray());
            for (int o = 0; o < 4; o++) Assert.Equal(expected[o], outputs[s * 4 + o], 1e-5);
        }
    }

    /// <summary>The network by hand: 3×3 convolution with one zero on every side, tanh, 2×2 max pooling with windows
    /// clipped at the bottom and right (5 → 3), 2×2 mean pooling dividing by the values inside (3 → 2), then W·x.</summary>
    static double[] CeilPoolReference(float[] theta, float[] image)
    {
        var conv = new double[3, 5, 5];
        for (int f = 0; f < 3; f++)
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++)
                {
                    double sum = 0;
                    for (int c = 0; c < 2; c++)
                        for (int ki = 0; ki < 3; ki++)
                            for (int kj = 0; kj < 3; kj++)
                            {
                                int r = i + ki - 1, q = j + kj - 1;
                                if (r is >= 0 and < 5 && q is >= 0 and < 5)
                                    sum += theta[((f * 2 + c) * 3 + ki) * 3 + kj] * image[(c * 5 + r) * 5 + q];
                            }
                    conv[f, i, j] = Math.Tanh(sum);
                }
        var max = new double[3, 3, 3];
        for (int f = 0; f < 3; f++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                {
                    double best = double.NegativeInfinity;
                    for (int r = 2 * i; r < Math.Min(2 * i + 2, 5); r++)
                        for (int q = 2 * j; q < Math.Min(2 * j + 2, 5); q++) best = Math.Max(best, conv[f, r, q]);
                    max[f, i, j] = best;
                }
        var flat = new double[12];
        for (int f = 0; f < 3; f++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                {
                    double sum = 0;
                    int count = 0;
                    for (int r = 2 * i; r < Math.Min(2 * i + 2, 3); r++)
                        for (int q = 2 * j; q < Math.Min(2 * j + 2, 3); q++, count++) sum += max[f, r, q];
                    flat[(f * 2 + i) * 2 + j] = sum / count;
                }
        var result = new double[4];
        for (int o = 0; o < 4; o++)
            for (int k = 0; k < 12; k++) result[o] += theta[54 + o * 12 + k] * flat[k];
        return result;
    }

    [Fact]
    public void Floor_pooling_leaves_the_last_row_and_column_out()
    {
        Assert.Equal(4, FloorPool.FlatSize);
        var network = new FloorPool(seed: 2);
        var x = TestData.Uniform(25, 5);
        var outputs = new float[2];
        network.PredictBatch(x, outputs);
        var theta = network.Parameters;
        var pooled = new double[4];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                pooled[i * 2 + j] = new[] { x[(2 * i) * 5 + 2 * j], x[(2 * i) * 5 + 2 * j + 1], x[(2 * i + 1) * 5 + 2 * j], x[(2 * i + 1) * 5 + 2 * j + 1] }.Max();
        for (int o = 0; o < 2; o++)
        {
            double expected = theta[8 + o];
            for (int k = 0; k < 4; k++) expected += theta[o * 4 + k] * pooled[k];
            Assert.Equal(expected, outputs[o], 1e-6);
        }
    }

    [Fact]
    public void Bias_free_products_and_ceil_pooling_match_finite_differences()
    {
        var network = new CeilPoolNoBias(seed: 5);
        var report = GradientCheck.Run(network, TestData.Uniform(4 * 50, 6), TestData.Uniform(4 * 4, 7), epsilon: 1e-6, maxChecked: 100_000);
        output.WriteLine(report.ToString());
        Assert.Equal(GradientVerdict.Good, report.Overall.Verdict);
    }

    [Fact]
    public void An_activation_after_prelu_keeps_prelu_slope_and_its_own()
    {
        var network = new PReluThenLeaky(seed: 1);
        var slope = ((INeuralNetwork)network).ParameterTensors.Single(t => t.Name == "Learned.weight");
        Assert.All(network.Parameters.Slice(slope.Offset, slope.Length).ToArray(), s => Assert.Equal(0.5f, s));
        // The LeakyReLU still applies its own slope after PReLU's: y = leaky(prelu(h)).
        var x = TestData.Uniform(3, 8);
        network.Predict(x, new float[2]);
        var hidden = network.ActivationOutput("Leaky").ToArray();
        var theta = network.Parameters;
        for (int u = 0; u < 4; u++)
        {
            double h = theta[12 + u];
            for (int k = 0; k < 3; k++) h += theta[u * 3 + k] * x[k];
            double prelu = h > 0 ? h : 0.5 * h, leaky = prelu > 0 ? prelu : 0.2 * prelu;
            Assert.Equal(leaky, hidden[u], 1e-6);
        }
    }

    [Fact]
    public void Prelu_then_relu_starts_at_the_default_slope_and_matches_finite_differences()
    {
        var network = new PReluThenRelu(seed: 4);
        var slope = ((INeuralNetwork)network).ParameterTensors.Single(t => t.Name == "Learned.weight");
        Assert.All(network.Parameters.Slice(slope.Offset, slope.Length).ToArray(), s => Assert.Equal(0.25f, s));
        var report = GradientCheck.Run(network, TestData.Uniform(6 * 3, 9), TestData.Uniform(6 * 2, 10), epsilon: 1e-6);
        output.WriteLine(report.ToString());
        Assert.Equal(GradientVerdict.Good, report.Overall.Verdict);
    }
}
