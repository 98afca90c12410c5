using System.Runtime.Intrinsics.X86;
using NetDsl.Kernels;

namespace NetDsl.Tests;

/// <summary>Winograd's F(2×2, 3×3) against the direct convolution summed in double.</summary>
public class WinogradTests
{
    [Theory]
    [InlineData(32, 14, 14, 1, 64)] // the Fashion CNN's second convolution: 7×7 tiles, two panels of four and three tile rows
    [InlineData(16, 7, 9, 1, 8)] // odd output sizes: the last tiles' second row and column fall outside
    [InlineData(24, 12, 10, 0, 16)] // valid: 10×8 outputs, no padding
    [InlineData(16, 5, 32, 1, 8)] // 32 outputs across: 16 tiles, a whole vector, two tile rows per panel
    [InlineData(20, 3, 3, 1, 24)] // one row of two tiles
    public void The_transformed_product_is_the_direct_convolution(int channels, int height, int width, int pad, int filters)
    {
        if (!Avx512F.IsSupported) return; // the kernel needs AVX-512; elsewhere convolutions take the direct product
        int outputHeight = height + 2 * pad - 2, outputWidth = width + 2 * pad - 2;
        var g = new ConvGeometry(channels, height, width, 3, 3, 1, pad, pad, outputHeight, outputWidth);
        Assert.True(Winograd.Applies<float>(g, filters));
        var weights = TestData.Uniform(filters * channels * 9, channels + filters);
        var image = TestData.Uniform(g.InputSize, height * 31 + width);
        var transformed = new float[g.WinogradWeightsLength(filters)];
        Winograd.TransformWeights(weights, transformed, g, filters);
        var output = Enumerable.Repeat(float.NaN, filters * g.OutputPixels).ToArray();
        var store = new StoreEpilogue<float>(output, g.OutputPixels);
        Winograd.Forward(transformed, image, g, filters, ref store);
        for (int f = 0; f < filters; f++)
            for (int oy = 0; oy < outputHeight; oy++)
                for (int ox = 0; ox < outputWidth; ox++)
                {
                    double expected = 0, magnitude = 0;
                    for (int c = 0; c < channels; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int y = oy + ky - pad, x = ox + kx - pad;
                                if (y < 0 || y >= height || x < 0 || x >= width) continue;
                                double term = (double)weights[(f * channels + c) * 9 + ky * 3 + kx] * image[(c * height + y) * width + x];
                                expected += term;
                                magnitude += Math.Abs(term);
                            }
                    float actual = output[f * g.OutputPixels + oy * outputWidth + ox];
                    // The transforms add up to 9 terms' worth of each input and weight: a few float roundings of Σ|w·x|.
                    Assert.True(Math.Abs(actual - expected) <= 1e-6 * (1 + 8 * magnitude), $"filter {f} at ({oy}, {ox}): {actual}, expected {expected}");
                }
    }

    [Theory]
    [InlineData(32, 14, 14, 64, true)] // the Fashion CNN's second convolution, its BatchNorm folded, ReLU, 2×2 pooling
    [InlineData(16, 6, 10, 8, false)] // no ReLU; panels of three rows of five tiles
    public void Pooled_tiles_are_the_shifted_rectified_convolution_pooled(int channels, int height, int width, int filters, bool relu)
    {
        if (!Avx512F.IsSupported) return;
        var g = new ConvGeometry(channels, height, width, 3, 3, 1, 1, 1, height, width);
        var weights = TestData.Uniform(filters * channels * 9, channels + 3 * filters);
        var image = TestData.Uniform(g.InputSize, 31);
        var shift = TestData.Uniform(filters, 32);
        var transformed = new float[g.WinogradWeightsLength(filters)];
        Winograd.TransformWeights(weights, transformed, g, filters);
        int pooledHeight = height / 2, pooledWidth = width / 2;
        var pooled = Enumerable.Repeat(float.NaN, filters * pooledHeight * pooledWidth).ToArray();
        var epilogue = new ChannelShiftEpilogue<float>(pooled, pooledHeight * pooledWidth, shift, relu);
        Winograd.Forward(transformed, image, g, filters, ref epilogue, pooled: true);
        for (int f = 0; f < filters; f++)
            for (int py = 0; py < pooledHeight; py++)
                for (int px = 0; px < pooledWidth; px++)
                {
                    double expected = double.NegativeInfinity, magnitude = 0;
                    for (int oy = 2 * py; oy < 2 * py + 2; oy++)
                        for (int ox = 2 * px; ox < 2 * px + 2; ox++)
                        {
                            double sum = shift[f];
                            for (int c = 0; c < channels; c++)
                                for (int ky = 0; ky < 3; ky++)
                                    for (int kx = 0; kx < 3; kx++)
                                    {
                                        int y = oy + ky - 1, x = ox + kx - 1;
                                        if (y < 0 || y >= height || x < 0 || x >= width) continue;
                                        double term = (double)weights[(f * channels + c) * 9 + ky * 3 + kx] * image[(c * height + y) * width + x];
                                        sum += term;
                                        magnitude += Math.Abs(term);
                                    }
                            expected = Math.Max(expected, relu ? Math.Max(sum, 0) : sum);
                        }
                    float actual = pooled[(f * pooledHeight + py) * pooledWidth + px];
                    Assert.True(Math.Abs(actual - expected) <= 1e-6 * (1 + 8 * magnitude), $"filter {f} at ({py}, {px}): {actual}, expected {expected}");
                }
    }

    [Theory]
    [InlineData(16, 14, 14, 64)] // the Fashion CNN's second convolution turned around: 64 maps in, 16 channels out
    [InlineData(8, 7, 9, 16)] // odd sizes
    public void The_input_gradient_by_winograd_is_the_direct_adjoint(int channels, int height, int width, int filters)
    {
        if (!Avx512F.IsSupported) return;
        var g = new ConvGeometry(channels, height, width, 3, 3, 1, 1, 1, height, width);
        Assert.True(g.SuitsWinogradInputGradient(filters));
        var weights = TestData.Uniform(filters * channels * 9, channels * 7 + filters);
        var image = TestData.Uniform(g.InputSize, 21);
        var dz = TestData.Uniform(filters * g.OutputPixels, 22);
        var transformed = new float[g.InputGradientGeometry(filters).WinogradWeightsLength(channels)];
        Winograd.TransformInputGradientWeights(weights, transformed, g, filters);
        var imageGradient = Enumerable.Repeat(float.NaN, g.InputSize).ToArray();
        Convolution.SampleBackward<float>(weights, image, dz, new float[g.PatchSize * g.OutputPixels], new float[g.PatchSize * g.OutputPixels],
            new float[weights.Length], new float[filters], imageGradient, g, filters, accumulate: false, 0, 0, transformedInputGradient: transformed);
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double expected = 0, magnitude = 0;
                    for (int f = 0; f < filters; f++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int oy = y - ky + 1, ox = x - kx + 1;
                                if (oy < 0 || oy >= height || ox < 0 || ox >= width) continue;
                                double term = (double)weights[(f * channels + c) * 9 + ky * 3 + kx] * dz[(f * height + oy) * width + ox];
                                expected += term;
                                magnitude += Math.Abs(term);
                            }
                    float actual = imageGradient[(c * height + y) * width + x];
                    Assert.True(Math.Abs(actual - expected) <= 1e-6 * (1 + 8 * magnitude), $"channel {c} at ({y}, {x}): {actual}, expected {expected}");
                }
    }

    [Fact]
    public void A_network_s_float_training_pass_through_winograd_agrees_with_its_double_pass_through_the_direct_product()
    {
        var network = new WinogradCnn(seed: 3);
        var x = TestData.Uniform(5 * WinogradCnn.InputSize, 11);
        var y = TestData.OneHot(5, 3, 12);
        float loss = network.ComputeGradients(x, y);
        var gradients = new double[WinogradCnn.ParameterCount];
        double reference = network.ComputeGradients(network.Parameters.ToArray().Select(v => (double)v).ToArray(),
            x.Select(v => (double)v).ToArray(), y.Select(v => (double)v).ToArray(), gradients);
        Assert.Equal(reference, loss, 1e-5);
        for (int i = 0; i < gradients.Length; i++) Assert.True(Math.Abs(gradients[i] - network.Gradients[i]) <= 1e-4 * (1 + Math.Abs(gradients[i])),
            $"gradient {i}: {network.Gradients[i]}, double pass {gradients[i]}");
    }

    [Fact]
    public void Predictions_after_a_training_step_use_the_new_weights_transformed_again()
    {
        var trained = new WinogradCnn(seed: 4);
        var x = TestData.Uniform(3 * WinogradCnn.InputSize, 13);
        var before = new float[3 * WinogradCnn.OutputSize];
        trained.PredictBatch(x, before);
        trained.TrainStep(x, TestData.OneHot(3, 3, 14), new Optimizers.Sgd(0.5));
        var after = new float[before.Length];
        trained.PredictBatch(x, after);
        Assert.NotEqual(before, after);
        // A second network given the trained θ and statistics transforms them afresh.
        var fresh = new WinogradCnn(seed: 5);
        trained.Parameters.CopyTo(fresh.Parameters);
        trained.RunningStatistics.CopyTo(fresh.RunningStatistics);
        var expected = new float[before.Length];
        fresh.PredictBatch(x, expected);
        Assert.Equal(expected, after);
    }

    [Fact]
    public void After_a_prediction_that_pooled_the_tiles_the_batchnorm_s_output_is_formed_when_asked_for()
    {
        var network = new WinogradCnn(seed: 6);
        var x = TestData.Uniform(4 * WinogradCnn.InputSize, 15);
        network.TrainStep(x, TestData.OneHot(4, 3, 16), new Optimizers.Sgd(0.1)); // running statistics of its own
        var fused = new float[4 * WinogradCnn.OutputSize];
        network.PredictBatch(x, fused);
        var formed = network.ActivationOutput("Act2").ToArray();
        Assert.Null(network.FindFirstNonFiniteLayer());
        // Without folding the BatchNorm runs as its own pass over the batch and writes its output as it goes.
        network.FoldBatchNormAtInference = false;
        var plain = new float[fused.Length];
        network.PredictBatch(x, plain);
        var written = network.ActivationOutput("Act2").ToArray();
        Assert.Equal(written.Length, formed.Length);
        Assert.Contains(written, v => v > 0);
        for (int i = 0; i < written.Length; i++) Assert.True(Math.Abs(written[i] - formed[i]) <= 1e-5 * (1 + Math.Abs(written[i])), $"Act2[{i}]: {formed[i]}, the BatchNorm's pass {written[i]}");
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], fused[i], 1e-5);
    }

    [Fact]
    public void Geometries_outside_the_form_are_refused_with_what_it_needs()
    {
        var strided = new ConvGeometry(32, 14, 14, 3, 3, 2, 1, 1, 7, 7);
        var fiveByFive = new ConvGeometry(32, 14, 14, 5, 5, 1, 2, 2, 14, 14);
        var fewChannels = new ConvGeometry(1, 28, 28, 3, 3, 1, 1, 1, 28, 28);
        var wide = new ConvGeometry(32, 40, 40, 3, 3, 1, 1, 1, 40, 40);
        Assert.False(strided.SuitsWinograd(64));
        Assert.False(fiveByFive.SuitsWinograd(64));
        Assert.False(fewChannels.SuitsWinograd(32));
        Assert.False(wide.SuitsWinograd(64));
        Assert.False(new ConvGeometry(32, 14, 14, 3, 3, 1, 1, 1, 14, 14).SuitsWinograd(12)); // not whole tiles of 8 filters
        var error = Assert.Throws<NotSupportedException>(() => Winograd.TransformWeights(new float[64 * 32 * 9], new float[16 * 64 * 32], strided, 64));
        Assert.Contains("stride 1", error.Message);
    }
}
