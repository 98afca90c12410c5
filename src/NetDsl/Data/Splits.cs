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
        var random = new Rng((ulong)seed);
        var trainIndices = new List<int>();
        var devIndices = new List<int>();
        var testIndices = new List<int>();
        var groups = stratified
            ? Enumerable.Range(0, data.Count).GroupBy(i => data.Labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray())
            : [Enumerable.Range(0, data.Count).ToArray()];
        foreach (var group in groups)
        {
            random.Shuffle(group.AsSpan());
            int devCount = (int)Math.Round(group.Length * dev), testCount = (int)Math.Round(group.Length * test);
            devIndices.AddRange(group.Take(devCount));
            testIndices.AddRange(group.Skip(devCount).Take(testCount));
            trainIndices.AddRange(group.Skip(devCount + testCount));
        }
        foreach (var (name, list) in new[] { ("train", trainIndices), ("dev", devIndices), ("test", testIndices) })
            if (list.Count == 0)
                throw new ArgumentException($"The {name} part of {data.Count} samples at {train} / {dev} / {test} is empty; use more data or larger ratios.");
        // Stratified parts are grouped by class; shuffle each so batches mix classes.
        return new DataSplit(Part(data, trainIndices, random), Part(data, devIndices, random), Part(data, testIndices, random));
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
public sealed class MinMaxScaler
{
    readonly float[] minimum, inverseRange;

    MinMaxScaler(float[] minimum, float[] inverseRange)
    {
        this.minimum = minimum;
        this.inverseRange = inverseRange;
    }

    /// <summary>Per-feature minimum of the training set.</summary>
    public ReadOnlySpan<float> Minimum => minimum;

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
