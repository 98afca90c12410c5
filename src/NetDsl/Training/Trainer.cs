using System.Diagnostics;
using NetDsl.Data;
using NetDsl.Optimizers;

namespace NetDsl.Training;

/// <summary>Stops training when the loss stops being a number, naming the step and the first layer where it went wrong.</summary>
public sealed class TrainingDivergedException(long step, int epoch, float loss, string? layer, string? gradientTensor = null)
    : Exception($"Training diverged at step {step} (epoch {epoch}): " + (gradientTensor is not null
        ? $"the loss is {loss} but the gradient of '{gradientTensor}' is not finite."
        : $"the loss is {loss}" + (layer is null ? "; every layer's activations are finite, so the loss itself overflowed." : $"; the first non-finite activations are in layer '{layer}'.")))
{
    /// <summary>The first parameter tensor whose gradient held NaN or ±∞, when the loss itself was finite.</summary>
    public string? GradientTensor { get; } = gradientTensor;

    /// <summary>The 1-based optimizer step whose loss was not finite.</summary>
    public long Step { get; } = step;

    /// <summary>The layer where non-finite values first appear in forward order, if any.</summary>
    public string? Layer { get; } = layer;
}

/// <summary>What one epoch measured. Train figures come from an inference pass after the epoch, so they are comparable
/// with the dev figures (the bias/variance diagnosis needs that). <paramref name="LearningRate"/> is the optimizer's rate
/// during the epoch.</summary>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double? DevLoss, double? DevAccuracy,
    double RunningLoss, TimeSpan Elapsed, double LearningRate = double.NaN);

/// <summary>Options for <see cref="Trainer.Fit"/>.</summary>
public sealed class TrainingOptions
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Samples per optimizer step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Seeds the mini-batch order.</summary>
    public int Seed { get; init; }

    /// <summary>Sets the optimizer's rate at the start of each epoch from the rate it had when training began.</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>Called at the start of each epoch (1-based) after the schedule, to change the rate or anything else by hand.</summary>
    public Action<int, IOptimizer>? BeforeEpoch { get; init; }

    /// <summary>Random augmentation of each training mini-batch (image samples of the dataset's shape (C, H, W)).</summary>
    public Augmentation? Augmentation { get; init; }

    /// <summary>Watches gradients, updates and activations each epoch; its warnings go to <see cref="OnWarning"/>.</summary>
    public TrainingMonitor? Monitor { get; init; }

    /// <summary>Receives the monitor's warnings (for example <c>Console.WriteLine</c>).</summary>
    public Action<string>? OnWarning { get; init; }

    /// <summary>Where to draw a progress bar per epoch with the running loss and throughput (for example <c>Console.Out</c>).</summary>
    public TextWriter? Progress { get; init; }

    /// <summary>Called after each epoch, for progress lines.</summary>
    public Action<EpochResult>? OnEpoch { get; init; }

    /// <summary>With a dev set: at the end, put back θ from the epoch with the best dev accuracy (Keras's
    /// <c>restore_best_weights</c>), so the result does not depend on where the last epoch's noise left it.</summary>
    public bool RestoreBestWeights { get; init; }

    /// <summary>With a dev set: stop after this many epochs without a better dev accuracy; null trains every epoch.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>Trains data-parallel with the other ranks of this group (<c>NetDsl.Distributed</c>'s MPI communicator):
    /// every rank runs <see cref="Trainer.Fit"/> with the same data, options and seed; each takes its slice of every
    /// batch of <see cref="BatchSize"/> samples, and the ranks sum their gradients weighted by slice size, so that θ
    /// moves as one process training the whole batch would move it. θ, the running statistics and the optimizer's
    /// state start as rank 0's; the epoch figures are measured over the ranks' shares of the data; only rank 0 draws
    /// <see cref="Progress"/> and receives <see cref="OnWarning"/> (<see cref="OnEpoch"/> runs on every rank). A last
    /// batch with fewer samples than ranks is skipped.</summary>
    public IDataParallelGroup? DataParallel { get; init; }

    /// <summary>With <see cref="DataParallel"/>: BatchNorm normalizes over the whole batch across the ranks (PyTorch's
    /// SyncBatchNorm), so the result does not depend on the number of ranks; otherwise each rank normalizes over its
    /// slice (PyTorch's DistributedDataParallel default) and the running statistics are averaged over the ranks after
    /// every step.</summary>
    public bool SynchronizeBatchNorm { get; init; }
}

/// <summary>What <see cref="Trainer.Fit"/> did: every epoch's figures, the epoch whose weights the network holds, and
/// the training loss after every step smoothed as <see cref="SmoothedLoss"/> does.</summary>
public sealed record TrainingHistory(IReadOnlyList<EpochResult> Epochs, int BestEpoch, bool StoppedEarly, IReadOnlyList<double>? SmoothedLosses = null);

/// <summary>Augments copies of the mini-batches (the dataset stays untouched), with buffers allocated once.</summary>
sealed class AugmentedBatches(Augmentation augmentation, Dataset data, int batchSize, int seed)
{
    readonly float[] inputs = new float[batchSize * data.FeatureSize];
    readonly float[] scratch = new float[data.FeatureSize];
    readonly Rng random = new((ulong)seed ^ 0xA5A5A5A5UL);
    readonly (int Channels, int Height, int Width) shape = data.SampleShape.Count switch
    {
        3 => (data.SampleShape[0], data.SampleShape[1], data.SampleShape[2]),
        2 => (1, data.SampleShape[0], data.SampleShape[1]),
        _ => throw new ArgumentException($"Augmentation needs image samples (C, H, W) or (H, W); these are {Shapes.Format(data.SampleShape)}."),
    };

    public ReadOnlySpan<float> Apply(MiniBatch batch)
    {
        var span = inputs.AsSpan(0, batch.Inputs.Length);
        batch.Inputs.CopyTo(span);
        augmentation.Apply(span, batch.Size, shape.Channels, shape.Height, shape.Width, random, scratch);
        return span;
    }
}

/// <summary>Mini-batch training of any generated network.</summary>
public static class Trainer
{
    /// <summary>The bar's loss is the smoothed step loss (<see cref="SmoothedLoss"/>), with dropout on and θ still
    /// moving, so it differs from the epoch's train loss, which an inference pass measures after the epoch.</summary>
    static void DrawProgress(TextWriter writer, int epoch, int done, int total, double loss, double samplesPerSecond)
    {
        const int width = 20;
        int filled = done * width / total;
        writer.Write(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"\repoch {epoch,3} [{new string('#', filled)}{new string('.', width - filled)}] {done * 100 / total,3}%  smoothed loss {loss:F4}  {samplesPerSecond,9:N0} samples/s"));
    }

    /// <summary>Trains for <see cref="TrainingOptions.Epochs"/> epochs (fewer if early stopping ends it) and returns the history.</summary>
    public static TrainingHistory Fit(INeuralNetwork network, IOptimizer optimizer, Dataset train, Dataset? dev, TrainingOptions options)
    {
        Shapes.RequireSamples(network, train, nameof(train));
        if (dev is not null) Shapes.RequireSamples(network, dev, nameof(dev));
        var batches = new MiniBatches(train, options.BatchSize, options.Seed);
        var history = new List<EpochResult>();
        float[]? bestWeights = options.RestoreBestWeights && dev is not null ? new float[network.ParameterCount] : null;
        double bestDevAccuracy = double.NegativeInfinity;
        int bestEpoch = 0;
        long step = 0;
        double initialRate = optimizer.LearningRate;
        var augmentation = options.Augmentation is null ? null : new AugmentedBatches(options.Augmentation, train, batches.BatchSize, options.Seed);
        var parallel = options.DataParallel is { } group ? new DataParallelTraining(group, options.SynchronizeBatchNorm, network, optimizer) : null;
        var progressWriter = parallel is { IsRoot: false } ? null : options.Progress;
        var smoothed = new SmoothedLoss();
        var smoothedLosses = new List<double>();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            if (options.Schedule is { } schedule) optimizer.LearningRate = schedule.RateAt(epoch - 1, initialRate);
            options.BeforeEpoch?.Invoke(epoch, optimizer);
            options.Monitor?.BeginEpoch(network);
            batches.Shuffle(epoch);
            double runningLoss = 0;
            for (int b = 0; b < batches.BatchCount; b++)
            {
                var batch = batches.Get(b);
                if (parallel is not null && batch.Size < parallel.Ranks) continue;
                step++;
                var inputs = augmentation is null ? batch.Inputs : augmentation.Apply(batch);
                long updates = optimizer.Steps;
                float loss = parallel is null ? network.TrainStep(inputs, batch.Targets, optimizer) : parallel.TrainStep(network, inputs, batch.Targets, optimizer);
                options.Monitor?.ObserveStep(loss);
                if (!float.IsFinite(loss))
                    throw new TrainingDivergedException(step, epoch, loss, network.FindFirstNonFiniteLayer());
                // TrainStep already scanned dθ and skipped the update when it held NaN or ±∞: only then look for the tensor.
                if (optimizer.Steps == updates)
                    foreach (var tensor in network.ParameterTensors)
                        if (Shapes.HasNonFinite(network.Gradients.Slice(tensor.Offset, tensor.Length)))
                            throw new TrainingDivergedException(step, epoch, loss, tensor.Layer, tensor.Name);
                runningLoss += loss * batch.Size;
                smoothedLosses.Add(smoothed.Add(loss));
                if (progressWriter is { } progress && (b % 20 == 19 || b == batches.BatchCount - 1))
                    DrawProgress(progress, epoch, b + 1, batches.BatchCount, smoothed.Value,
                        Math.Min(train.Count, (b + 1) * batches.BatchSize) / clock.Elapsed.TotalSeconds);
            }
            progressWriter?.Write('\r' + new string(' ', 79) + '\r');
            parallel?.EndEpoch(network);
            var trained = parallel?.Evaluate(network, train) ?? Metrics.Evaluate(network, train);
            Evaluation? held = dev is null ? null : parallel?.Evaluate(network, dev) ?? Metrics.Evaluate(network, dev);
            var result = new EpochResult(epoch, trained.Loss, trained.Accuracy, held?.Loss, held?.Accuracy,
                runningLoss / train.Count, clock.Elapsed, optimizer.LearningRate);
            if (options.Monitor is { } monitor)
                foreach (var warning in monitor.EndEpoch(network, result, history.LastOrDefault()).Warnings)
                    if (parallel is not { IsRoot: false }) options.OnWarning?.Invoke($"epoch {epoch}: {warning}");
            history.Add(result);
            options.OnEpoch?.Invoke(result);
            if (held is { } devFigures && devFigures.Accuracy > bestDevAccuracy)
            {
                (bestDevAccuracy, bestEpoch) = (devFigures.Accuracy, epoch);
                if (bestWeights is not null) network.Parameters.CopyTo(bestWeights);
            }
            if (held is not null && epoch - bestEpoch >= options.EarlyStoppingPatience)
            {
                Restore();
                return new TrainingHistory(history, bestWeights is null ? epoch : bestEpoch, StoppedEarly: true, smoothedLosses);
            }
        }
        Restore();
        return new TrainingHistory(history, bestWeights is null || bestEpoch == 0 ? history.Count : bestEpoch, StoppedEarly: false, smoothedLosses);

        void Restore()
        {
            if (bestWeights is not null && bestEpoch > 0) bestWeights.CopyTo(network.Parameters);
        }
    }
}
