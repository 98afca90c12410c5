using NetDsl.Kernels;
using NetDsl.Optimizers;

namespace NetDsl.Tests;

public class BatchNormTests
{
    [Fact]
    public void Training_output_has_zero_mean_and_unit_variance_per_channel_before_gamma_and_beta()
    {
        const int batch = 8, channels = 3, spatial = 5;
        var values = TestData.Uniform(batch * channels * spatial, 3, -2, 5).Select(v => (double)v).ToArray();
        var output = new double[values.Length];
        var batchMean = new double[channels];
        var inverse = new double[channels];
        var running = new float[2 * channels];
        running.AsSpan(channels).Fill(1);
        double[] gamma = [1, 1, 1], beta = [0, 0, 0];
        var original = (double[])values.Clone();
        BatchNormalization.TrainingForward<double>(values, output, batch, channels, spatial, gamma, beta, batchMean, inverse, running, 0.9, 1e-5);
        Assert.Equal(original, values); // backward reads the input again
        for (int c = 0; c < channels; c++)
        {
            var channel = Enumerable.Range(0, batch).SelectMany(s => output.Skip((s * channels + c) * spatial).Take(spatial)).ToArray();
            double mean = channel.Average();
            double variance = channel.Average(v => (v - mean) * (v - mean));
            Assert.Equal(0, mean, 12);
            var raw = Enumerable.Range(0, batch).SelectMany(s => original.Skip((s * channels + c) * spatial).Take(spatial)).ToArray();
            double rawMean = raw.Average(), rawVariance = raw.Average(v => (v - rawMean) * (v - rawMean));
            Assert.Equal(rawVariance / (rawVariance + 1e-5), variance, 12); // exactly 1 but for ε
            // What backward reads again: the batch mean and 1/σ.
            Assert.Equal(rawMean, batchMean[c], 12);
            Assert.Equal(1 / Math.Sqrt(rawVariance + 1e-5), inverse[c], 12);
            // Running averages: r ← 0.9 r + 0.1 · batch value, the variance unbiased.
            Assert.Equal(0.1 * rawMean, running[c], 5);
            Assert.Equal(0.9 + 0.1 * rawVariance * raw.Length / (raw.Length - 1), running[channels + c], 5);
        }
    }

    [Fact]
    public void Inference_with_running_averages_equals_the_folded_weights_output()
    {
        var network = new DenseNorm(seed: 1);
        var adam = new Adam(0.01);
        var x = TestData.Uniform(16 * 5, 2);
        var y = TestData.Uniform(16 * 4, 3);
        for (int i = 0; i < 5; i++) network.TrainStep(x, y, adam);
        var theta = network.Parameters.ToArray();
        var running = network.RunningStatistics.ToArray();
        Assert.NotEqual(0f, running[0]); // the running mean moved
        var weights = new float[DenseNorm.HiddenWeightLength];
        var bias = new float[4];
        BatchNormalization.FoldIntoProduct(theta.AsSpan(DenseNorm.HiddenWeightOffset, DenseNorm.HiddenWeightLength), [],
            theta.AsSpan(DenseNorm.NormWeightOffset, 4), theta.AsSpan(DenseNorm.NormBiasOffset, 4), running, 1e-5, weights, bias);
        var predicted = new float[16 * 4];
        network.PredictBatch(x, predicted);
        for (int s = 0; s < 16; s++)
            for (int c = 0; c < 4; c++)
            {
                double folded = bias[c];
                for (int j = 0; j < 5; j++) folded += weights[c * 5 + j] * x[s * 5 + j];
                Assert.Equal(folded, predicted[s * 4 + c], 1e-5);
            }
    }

    [Fact]
    public void Folded_and_unfolded_inference_agree_for_a_cnn_and_follow_training()
    {
        var network = new MixedCnn(seed: 5);
        var adam = new Adam(0.01);
        var x = TestData.Uniform(6 * 72, 4);
        var y = TestData.Distribution(6, 4, 5);
        var folded = new float[6 * 4];
        var unfolded = new float[6 * 4];
        for (int round = 0; round < 3; round++)
        {
            network.TrainStep(x, y, adam);
            network.FoldBatchNormAtInference = true;
            network.PredictBatch(x, folded);
            network.FoldBatchNormAtInference = false;
            network.PredictBatch(x, unfolded);
            for (int i = 0; i < folded.Length; i++) Assert.Equal(unfolded[i], folded[i], 1e-5);
        }
        network.RunningStatistics[0] += 1; // touching the statistics refolds
        network.FoldBatchNormAtInference = true;
        network.PredictBatch(x, folded);
        network.FoldBatchNormAtInference = false;
        network.PredictBatch(x, unfolded);
        for (int i = 0; i < folded.Length; i++) Assert.Equal(unfolded[i], folded[i], 1e-5);
    }

    [Fact]
    public void The_product_before_batchnorm_has_no_bias()
    {
        Assert.Equal(["Hidden.weight", "Norm.weight", "Norm.bias"], ((INeuralNetwork)new DenseNorm()).ParameterTensors.Select(t => t.Name));
        Assert.Equal(5 * 4 + 4 + 4, DenseNorm.ParameterCount);
    }
}
