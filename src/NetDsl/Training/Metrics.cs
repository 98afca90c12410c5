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

    /// <summary>The network's training loss and the accuracy over <paramref name="data"/>, predicted in batches.</summary>
    public static Evaluation Evaluate(INeuralNetwork network, Dataset data, int batchSize = 1000)
    {
        if (data.FeatureSize != network.InputSize)
            throw new ArgumentException(
                $"{network.Name} takes {network.InputSize} values per sample but the dataset's samples {Shapes.Format(data.SampleShape)} hold {data.FeatureSize}.",
                nameof(data));
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
                _ => LossKernels.MeanSquaredError<float>(predicted, batch.Targets, [], batch.Size, network.OutputSize),
            };
            lossSum += loss * batch.Size;
            correctSum += Accuracy(predicted, batch.Labels) * batch.Size;
        }
        return new Evaluation(lossSum / data.Count, correctSum / data.Count);
    }
}
