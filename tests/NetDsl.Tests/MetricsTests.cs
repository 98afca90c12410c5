using NetDsl.Data;
using NetDsl.Training;

namespace NetDsl.Tests;

public class MetricsTests
{
    [Fact]
    public void Confusion_matrix_counts_true_against_predicted_classes()
    {
        float[] outputs = [0.9f, 0.1f, 0, /**/ 0.2f, 0.7f, 0.1f, /**/ 0.1f, 0.8f, 0.1f, /**/ 0, 0.4f, 0.6f];
        int[] labels = [0, 1, 2, 2];
        var matrix = Metrics.ConfusionMatrix(outputs, labels, 3);
        Assert.Equal(1, matrix[0, 0]);
        Assert.Equal(1, matrix[1, 1]);
        Assert.Equal(1, matrix[2, 1]);
        Assert.Equal(1, matrix[2, 2]);
        Assert.Equal(4, matrix.Cast<int>().Sum());
        Assert.Equal(0.75, Metrics.Accuracy(outputs, labels));
    }

    [Fact]
    public void Mse_and_bce_are_reportable_whatever_the_training_loss()
    {
        var network = new BinaryTagger(seed: 1);
        var data = new Dataset(TestData.Uniform(10 * 6, 2), Enumerable.Range(0, 10).Select(i => i % 3).ToArray(), [6], 3);
        var outputs = Metrics.Predict(network, data, batchSize: 4);
        var targets = new float[outputs.Length];
        for (int i = 0; i < 10; i++) targets[i * 3 + data.Labels[i]] = 1;
        double mse = outputs.Zip(targets, (o, t) => (double)(o - t) * (o - t)).Average();
        double bce = outputs.Zip(targets, (o, t) => -(t * Math.Log(o) + (1 - t) * Math.Log(1 - o))).Average();
        Assert.Equal(mse, Metrics.MeanSquaredError(outputs, targets), 1e-9);
        Assert.Equal(bce, Metrics.BinaryCrossEntropy(outputs, targets), 1e-6);
        Assert.Equal(bce, Metrics.Evaluate(network, data).Loss, 1e-6);
    }
}
