namespace NetDsl.Data;

/// <summary>A train/dev/test split.</summary>
public sealed record DataSplit(Dataset Train, Dataset Dev, Dataset Test);

/// <summary>Splitting a dataset by ratios (from 60/20/20 for small data to 98/1/1 or finer for large), optionally
/// stratified so each part keeps the class proportions, and k-fold cross-validation. All seeded.</summary>
public static class Splits
{
    /// <summary>Shuffles and splits by the ratios (which must be positive and sum to 1). Stratified splits cut each class
    /// separately, so rare classes reach the dev and test sets in proportion.</summary>
    public static DataSplit ByRatio(Dataset data, double train, double dev, double test, int seed, bool stratified = true)
    {
        if (train <= 0 || dev <= 0 || test <= 0 || Math.Abs(train + dev + test - 1) > 1e-9)
            throw new ArgumentException($"Split ratios must be positive and sum to 1, got {train} / {dev} / {test}.");
        var parts = Cut(data, [("train", train), ("dev", dev), ("test", test)], seed, stratified);
        return new DataSplit(parts[0], parts[1], parts[2]);
    }

    /// <summary>Shuffles and splits in two: <paramref name="trainShare"/> of the samples (0.8 for 80/20) for training,
    /// the rest for testing; stratified by class unless <paramref name="stratified"/> is false.</summary>
    public static (Dataset Train, Dataset Test) TrainTest(Dataset data, double trainShare, int seed, bool stratified = true)
    {
        if (!(trainShare > 0 && trainShare < 1))
            throw new ArgumentOutOfRangeException(nameof(trainShare), trainShare, "The train share must lie strictly between 0 and 1 (0.8 keeps 80% for training).");
        var parts = Cut(data, [("train", trainShare), ("test", 1 - trainShare)], seed, stratified);
        return (parts[0], parts[1]);
    }

    /// <summary>Cuts each class (or the whole set) after a seeded shuffle: every part but the first takes its rounded
    /// share in turn, the first keeps the rest. No part may end empty.</summary>
    static Dataset[] Cut(Dataset data, (string Name, double Share)[] parts, int seed, bool stratified)
    {
        var random = new Rng((ulong)seed);
        var indices = parts.Select(_ => new List<int>()).ToArray();
        var groups = stratified
            ? Enumerable.Range(0, data.Count).GroupBy(i => data.Labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray())
            : [Enumerable.Range(0, data.Count).ToArray()];
        foreach (var group in groups)
        {
            random.Shuffle(group.AsSpan());
            int taken = 0;
            for (int p = 1; p < parts.Length; p++)
            {
                int count = (int)Math.Round(group.Length * parts[p].Share);
                indices[p].AddRange(group.Skip(taken).Take(count));
                taken += count;
            }
            indices[0].AddRange(group.Skip(taken));
        }
        for (int p = 0; p < parts.Length; p++)
            if (indices[p].Count == 0)
                throw new ArgumentException($"The {parts[p].Name} part of {data.Count} samples at " +
                    $"{string.Join(" / ", parts.Select(part => part.Share))} is empty; use more data or larger ratios.");
        // Stratified parts are grouped by class; shuffle each so batches mix classes.
        return indices.Select(list => Part(data, list, random)).ToArray();
    }

    /// <summary>k folds: fold i holds out every k-th sample of a seeded (optionally stratified) order for validation and
    /// trains on the rest; every sample is held out exactly once.</summary>
    public static IReadOnlyList<(Dataset Train, Dataset Validation)> KFold(Dataset data, int k, int seed, bool stratified = true)
    {
        if (k < 2 || k > data.Count) throw new ArgumentOutOfRangeException(nameof(k), k, $"k-fold needs 2 ≤ k ≤ {data.Count} (the sample count).");
        var random = new Rng((ulong)seed);
        var order = Enumerable.Range(0, data.Count).ToArray();
        random.Shuffle(order.AsSpan());
        // Sorting the shuffled order by class, then dealing round-robin, stratifies the folds.
        if (stratified) order = order.OrderBy(i => data.Labels[i]).ToArray();
        var folds = new List<(Dataset, Dataset)>();
        for (int fold = 0; fold < k; fold++)
        {
            var held = order.Where((_, position) => position % k == fold).ToArray();
            var kept = order.Where((_, position) => position % k != fold).ToList();
            folds.Add((Part(data, kept, random), data.Subset(held)));
        }
        return folds;
    }

    static Dataset Part(Dataset data, List<int> indices, Rng random)
    {
        var array = indices.ToArray();
        random.Shuffle(array.AsSpan());
        return data.Subset(array);
    }
}

/// <summary>Min-max scaling to [0, 1] per feature with the training set's minimum and maximum; like
/// <see cref="StandardScaler"/>, only <see cref="Fit"/> measures, and <see cref="Transform"/> never refits.</summary>
public sealed class MinMaxScaler : IFeatureScaling
{
    readonly float[] minimum, inverseRange;

    MinMaxScaler(float[] minimum, float[] inverseRange)
    {
        this.minimum = minimum;
        this.inverseRange = inverseRange;
    }

    /// <summary>Per-feature minimum of the training set.</summary>
    public ReadOnlySpan<float> Minimum => minimum;

    ReadOnlySpan<float> IFeatureScaling.Shift => minimum;

    ReadOnlySpan<float> IFeatureScaling.Scale => inverseRange;

    /// <summary>Measures each feature's range over <paramref name="training"/>; a constant feature maps to 0.</summary>
    public static MinMaxScaler Fit(Dataset training)
    {
        int width = training.FeatureSize;
        var low = Enumerable.Repeat(float.PositiveInfinity, width).ToArray();
        var high = Enumerable.Repeat(float.NegativeInfinity, width).ToArray();
        for (int i = 0; i < training.Count; i++)
        {
            var sample = training.Sample(i);
            for (int j = 0; j < width; j++)
            {
                low[j] = Math.Min(low[j], sample[j]);
                high[j] = Math.Max(high[j], sample[j]);
            }
        }
        return new MinMaxScaler(low, low.Select((l, j) => high[j] > l ? 1 / (high[j] - l) : 0f).ToArray());
    }

    /// <summary>A new dataset scaled by the training range (dev and test values may fall outside [0, 1]).</summary>
    public Dataset Transform(Dataset data) => FeatureScaling.Apply(data, minimum, inverseRange);
}
