namespace NetDsl.Data;

/// <summary>Labelled samples held row-major in one float array: sample i is
/// <c>Features[i·FeatureSize .. (i+1)·FeatureSize)</c> with class <c>Labels[i]</c>.</summary>
public sealed class Dataset
{
    /// <summary>Wraps features and labels; lengths and labels are checked.</summary>
    public Dataset(float[] features, int[] labels, int[] sampleShape, int classCount)
    {
        FeatureSize = Shapes.Count(sampleShape);
        if (FeatureSize <= 0) throw new ArgumentException($"Sample shape {Shapes.Format(sampleShape)} is empty.", nameof(sampleShape));
        if (features.Length != labels.Length * FeatureSize)
            throw new ArgumentException(
                $"features hold {features.Length} values but {labels.Length} samples of shape {Shapes.Format(sampleShape)} need {labels.Length * FeatureSize}.",
                nameof(features));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"Label {labels[i]} of sample {i} is outside [0, {classCount}).", nameof(labels));
        Features = features;
        Labels = labels;
        SampleShape = sampleShape;
        ClassCount = classCount;
    }

    /// <summary>All samples, row-major.</summary>
    public float[] Features { get; }

    /// <summary>The class of each sample.</summary>
    public int[] Labels { get; }

    /// <summary>The shape of one sample.</summary>
    public IReadOnlyList<int> SampleShape { get; }

    /// <summary>Values per sample.</summary>
    public int FeatureSize { get; }

    /// <summary>Number of classes; labels lie in [0, ClassCount).</summary>
    public int ClassCount { get; }

    /// <summary>The name of each class index, where the data named its classes (a CSV label column of text); else null.</summary>
    public IReadOnlyList<string>? ClassNames
    {
        get => classNames;
        init
        {
            if (value is not null && value.Count != ClassCount)
                throw new ArgumentException($"{value.Count} class names for {ClassCount} classes.", nameof(ClassNames));
            classNames = value;
        }
    }

    readonly IReadOnlyList<string>? classNames;

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Sample(int index) => Features.AsSpan(index * FeatureSize, FeatureSize);

    /// <summary>A new dataset holding the samples at <paramref name="indices"/>, in that order.</summary>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        var features = new float[indices.Length * FeatureSize];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            Sample(indices[i]).CopyTo(features.AsSpan(i * FeatureSize));
            labels[i] = Labels[indices[i]];
        }
        return new Dataset(features, labels, [.. SampleShape], ClassCount) { ClassNames = ClassNames };
    }

    /// <summary>Shuffles with <paramref name="seed"/> and holds out <paramref name="heldOutCount"/> samples, for a dev set
    /// carved from the training set.</summary>
    public (Dataset Kept, Dataset HeldOut) HoldOut(int heldOutCount, int seed)
    {
        if (heldOutCount <= 0 || heldOutCount >= Count)
            throw new ArgumentOutOfRangeException(nameof(heldOutCount), heldOutCount, $"Hold out between 1 and {Count - 1} of {Count} samples.");
        var order = Enumerable.Range(0, Count).ToArray();
        new Rng((ulong)seed).Shuffle(order.AsSpan());
        return (Subset(order.AsSpan(heldOutCount)), Subset(order.AsSpan(0, heldOutCount)));
    }

    /// <summary>Loads an IDX image file and its IDX label file; pixels are scaled by <paramref name="scale"/>
    /// (1/255 maps bytes to [0, 1]).</summary>
    public static Dataset FromIdx(string imagesPath, string labelsPath, int classCount, float scale = 1f / 255)
    {
        var (imageShape, pixels) = IdxFile.Read(imagesPath);
        var (labelShape, labelBytes) = IdxFile.Read(labelsPath);
        if (labelShape.Length != 1)
            throw new InvalidDataException($"{labelsPath}: a label file has rank 1, this one has shape {Shapes.Format(labelShape)}.");
        if (imageShape[0] != labelShape[0])
            throw new InvalidDataException($"{imagesPath} holds {imageShape[0]} images but {labelsPath} holds {labelShape[0]} labels.");
        var features = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) features[i] = pixels[i] * scale;
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = labelBytes[i];
            if (labels[i] >= classCount)
                throw new InvalidDataException($"{labelsPath}: label {labels[i]} at index {i} is outside [0, {classCount}).");
        }
        int[] sampleShape = imageShape.Length == 1 ? [1] : imageShape[1..];
        return new Dataset(features, labels, sampleShape, classCount);
    }
}
