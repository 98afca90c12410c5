using System.Diagnostics;
using NetDsl.Data;
using NetDsl.Optimizers;

namespace NetDsl.Training;

/// <summary>Stops training when the loss stops being a number, naming the step and the first layer where it went wrong.</summary>
public sealed class TrainingDivergedException(long step, int epoch, float loss, string? layer)
    : Exception($"Training diverged at step {step} (epoch {epoch}): the loss is {loss}" +
                (layer is null ? "; every layer's activations are finite, so the loss itself overflowed." : $"; the first non-finite activations are in layer '{layer}'."))
{
    /// <summary>The 1-based optimizer step whose loss was not finite.</summary>
    public long Step { get; } = step;

    /// <summary>The layer where non-finite values first appear in forward order, if any.</summary>
    public string? Layer { get; } = layer;
}

/// <summary>What one epoch measured. Train figures come from an inference pass after the epoch, so they are comparable
/// with the dev figures (the bias/variance diagnosis needs that).</summary>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double? DevLoss, double? DevAccuracy,
    double RunningLoss, TimeSpan Elapsed);

/// <summary>Options for <see cref="Trainer.Fit"/>.</summary>
public sealed class TrainingOptions
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Samples per optimizer step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Seeds the mini-batch order.</summary>
    public int Seed { get; init; }

    /// <summary>Called after each epoch, for progress lines.</summary>
    public Action<EpochResult>? OnEpoch { get; init; }
}

/// <summary>Mini-batch training of any generated network.</summary>
public static class Trainer
{
    /// <summary>Trains for <see cref="TrainingOptions.Epochs"/> epochs and returns the per-epoch history.</summary>
    public static IReadOnlyList<EpochResult> Fit(INeuralNetwork network, IOptimizer optimizer, Dataset train, Dataset? dev, TrainingOptions options)
    {
        var batches = new MiniBatches(train, options.BatchSize, options.Seed);
        var history = new List<EpochResult>();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            batches.Shuffle(epoch);
            double runningLoss = 0;
            for (int b = 0; b < batches.BatchCount; b++)
            {
                var batch = batches.Get(b);
                float loss = network.TrainStep(batch.Inputs, batch.Targets, optimizer);
                if (!float.IsFinite(loss))
                    throw new TrainingDivergedException(optimizer.Steps, epoch, loss, network.FindFirstNonFiniteLayer());
                runningLoss += loss * batch.Size;
            }
            var trained = Metrics.Evaluate(network, train);
            Evaluation? held = dev is null ? null : Metrics.Evaluate(network, dev);
            var result = new EpochResult(epoch, trained.Loss, trained.Accuracy, held?.Loss, held?.Accuracy,
                runningLoss / train.Count, clock.Elapsed);
            history.Add(result);
            options.OnEpoch?.Invoke(result);
        }
        return history;
    }
}
