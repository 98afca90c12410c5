using NetDsl.Data;
using NetDsl.Kernels;

namespace NetDsl.Training;

/// <summary>Loss and accuracy of a network over a dataset, from one inference pass.</summary>
public readonly record struct Evaluation(double Loss, double Accuracy);

/// <summary>Metrics computed by inference passes (dropout off).</summary>
public static class Metrics
{
    /// <summary>Index of the largest value (the predicted class).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>Fraction of predicted classes equal to the labels; <paramref name="outputs"/> holds one row per label.</summary>
    public static double Accuracy(ReadOnlySpan<float> outputs, ReadOnlySpan<int> labels)
    {
        if (labels.IsEmpty) throw new ArgumentException("Accuracy of zero samples is undefined.", nameof(labels));
        int width = outputs.Length / labels.Length, correct = 0;
        for (int i = 0; i < labels.Length; i++)
            if (ArgMax(outputs.Slice(i * width, width)) == labels[i]) correct++;
        return (double)correct / labels.Length;
    }

    /// <summary>Counts of (true class, predicted class): row i, column j is the number of samples of class i predicted as j.</summary>
    public static int[,] ConfusionMatrix(ReadOnlySpan<float> outputs, ReadOnlySpan<int> labels, int classes)
    {
        if (labels.IsEmpty || outputs.Length != labels.Length * classes)
            throw new ArgumentException($"outputs hold {outputs.Length} values but {labels.Length} samples of {classes} classes need {labels.Length * classes}.", nameof(outputs));
        var counts = new int[classes, classes];
        for (int i = 0; i < labels.Length; i++) counts[labels[i], ArgMax(outputs.Slice(i * classes, classes))]++;
        return counts;
    }

    /// <summary>Mean squared error over every element, whatever loss the network trains on.</summary>
    public static double MeanSquaredError(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets) =>
        LossKernels.MeanSquaredError(outputs, targets, [], 1, targets.Length);

    /// <summary>Binary cross-entropy of probabilities in (0, 1), whatever loss the network trains on.</summary>
    public static double BinaryCrossEntropy(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets) =>
        LossKernels.BinaryCrossEntropy(outputs, targets, [], 1, targets.Length);

    /// <summary>The network's outputs for every sample, predicted in batches (row-major, one row per sample).</summary>
    public static float[] Predict(INeuralNetwork network, Dataset data, int batchSize = 1000)
    {
        Shapes.RequireSamples(network, data, nameof(data));
        var outputs = new float[data.Count * network.OutputSize];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int size = Math.Min(batchSize, data.Count - start);
            network.PredictBatch(data.Features.AsSpan(start * data.FeatureSize, size * data.FeatureSize),
                outputs.AsSpan(start * network.OutputSize, size * network.OutputSize));
        }
        return outputs;
    }

    /// <summary>The network's training loss (without label smoothing) and the accuracy over <paramref name="data"/>, predicted in batches.</summary>
    public static Evaluation Evaluate(INeuralNetwork network, Dataset data, int batchSize = 1000)
    {
        Shapes.RequireSamples(network, data, nameof(data));
        var batches = new MiniBatches(data, batchSize, seed: 0);
        batches.Shuffle(0);
        var outputs = new float[batches.BatchSize * network.OutputSize];
        double lossSum = 0, correctSum = 0;
        for (int b = 0; b < batches.BatchCount; b++)
        {
            var batch = batches.Get(b);
            var predicted = outputs.AsSpan(0, batch.Size * network.OutputSize);
            network.PredictBatch(batch.Inputs, predicted);
            double loss = network.Loss switch
            {
                Loss.SoftmaxCrossEntropy => LossKernels.SoftmaxCrossEntropy<float>(predicted, batch.Targets, [], batch.Size, network.OutputSize),
                Loss.BinaryCrossEntropy => LossKernels.BinaryCrossEntropy<float>(predicted, batch.Targets, [], batch.Size, network.OutputSize),
                _ => LossKernels.MeanSquaredError<float>(predicted, batch.Targets, [], batch.Size, network.OutputSize),
            };
            lossSum += loss * batch.Size;
            correctSum += Accuracy(predicted, batch.Labels) * batch.Size;
        }
        return new Evaluation(lossSum / data.Count, correctSum / data.Count);
    }
}
