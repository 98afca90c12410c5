namespace NetDsl.Data;

/// <summary>One mini-batch: <see cref="Size"/> samples of inputs, one-hot targets and labels.</summary>
public readonly ref struct MiniBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> labels)
{
    /// <summary>Inputs, row-major.</summary>
    public ReadOnlySpan<float> Inputs { get; } = inputs;

    /// <summary>One-hot targets, row-major.</summary>
    public ReadOnlySpan<float> Targets { get; } = targets;

    /// <summary>Class labels.</summary>
    public ReadOnlySpan<int> Labels { get; } = labels;

    /// <summary>Number of samples (the last batch of an epoch may be smaller).</summary>
    public int Size => Labels.Length;
}

/// <summary>Shuffled mini-batches over a dataset: each epoch draws a new order from (seed, epoch), so runs repeat
/// exactly. Buffers are allocated once; getting a batch copies into them and allocates nothing.</summary>
public sealed class MiniBatches
{
    readonly Dataset data;
    readonly int[] order;
    readonly float[] inputs, targets;
    readonly int[] labels;
    readonly ulong seed;

    /// <summary>Creates the batcher; call <see cref="Shuffle"/> at the start of each epoch.</summary>
    public MiniBatches(Dataset data, int batchSize, int seed)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        this.data = data;
        this.seed = (ulong)seed;
        BatchSize = Math.Min(batchSize, data.Count);
        order = Enumerable.Range(0, data.Count).ToArray();
        inputs = new float[BatchSize * data.FeatureSize];
        targets = new float[BatchSize * data.ClassCount];
        labels = new int[BatchSize];
    }

    /// <summary>Samples per batch (all but possibly the last).</summary>
    public int BatchSize { get; }

    /// <summary>Batches per epoch, the last one partial when the count does not divide.</summary>
    public int BatchCount => (data.Count + BatchSize - 1) / BatchSize;

    /// <summary>Draws the sample order for <paramref name="epoch"/>.</summary>
    public void Shuffle(int epoch)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        new Rng(seed * Kernels.Dropout.Gamma + (ulong)epoch).Shuffle(order.AsSpan());
    }

    /// <summary>The samples of batch <paramref name="index"/> in the current order.</summary>
    public MiniBatch Get(int index)
    {
        int start = index * BatchSize;
        int size = Math.Min(BatchSize, data.Count - start);
        int width = data.FeatureSize, classes = data.ClassCount;
        targets.AsSpan(0, size * classes).Clear();
        for (int i = 0; i < size; i++)
        {
            int sample = order[start + i];
            data.Sample(sample).CopyTo(inputs.AsSpan(i * width, width));
            labels[i] = data.Labels[sample];
            targets[i * classes + labels[i]] = 1;
        }
        return new MiniBatch(inputs.AsSpan(0, size * width), targets.AsSpan(0, size * classes), labels.AsSpan(0, size));
    }
}
