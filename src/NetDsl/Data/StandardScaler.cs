namespace NetDsl.Data;

/// <summary>Per-feature standardization, x′ = (x − μ) / σ, with μ and σ measured on the training set only. The only
/// way to get a scaler is <see cref="Fit"/> on a dataset, and <see cref="Transform"/> never refits: dev and test data
/// are scaled with the training statistics, so they cannot leak into the model.</summary>
public sealed class StandardScaler : IFeatureScaling
{
    readonly float[] mean, scale;

    StandardScaler(float[] mean, float[] scale)
    {
        this.mean = mean;
        this.scale = scale;
    }

    /// <summary>Per-feature means of the training set.</summary>
    public ReadOnlySpan<float> Mean => mean;

    /// <summary>Per-feature 1/σ; a feature with σ below <see cref="MinimumDeviation"/> (constant pixels) is only centred.</summary>
    public ReadOnlySpan<float> InverseDeviation => scale;

    ReadOnlySpan<float> IFeatureScaling.Shift => mean;

    ReadOnlySpan<float> IFeatureScaling.Scale => scale;

    /// <summary>Standard deviations below this are treated as 1.</summary>
    public const double MinimumDeviation = 1e-6;

    /// <summary>Measures μ and σ of every feature over <paramref name="training"/>.</summary>
    public static StandardScaler Fit(Dataset training)
    {
        int width = training.FeatureSize;
        var sum = new double[width];
        var squares = new double[width];
        for (int i = 0; i < training.Count; i++)
        {
            var sample = training.Sample(i);
            for (int j = 0; j < width; j++)
            {
                sum[j] += sample[j];
                squares[j] += (double)sample[j] * sample[j];
            }
        }
        var mean = new float[width];
        var scale = new float[width];
        for (int j = 0; j < width; j++)
        {
            double mu = sum[j] / training.Count;
            double deviation = Math.Sqrt(Math.Max(0, squares[j] / training.Count - mu * mu));
            mean[j] = (float)mu;
            scale[j] = (float)(deviation < MinimumDeviation ? 1 : 1 / deviation);
        }
        return new StandardScaler(mean, scale);
    }

    /// <summary>A new dataset with every sample standardized by the fitted statistics.</summary>
    public Dataset Transform(Dataset data) => FeatureScaling.Apply(data, mean, scale);
}

/// <summary>A fitted per-feature transform x′ = (x − shift) · scale, which an exported model can carry so that it takes
/// the raw features (<c>ExportOnnx(path, preprocessing: scaler)</c>).</summary>
public interface IFeatureScaling
{
    /// <summary>Subtracted from each feature.</summary>
    ReadOnlySpan<float> Shift { get; }

    /// <summary>Then multiplied into it.</summary>
    ReadOnlySpan<float> Scale { get; }
}

/// <summary>The transform both scalers share: x′ = (x − shift) · scale per feature, on a copy.</summary>
internal static class FeatureScaling
{
    public static Dataset Apply(Dataset data, float[] shift, float[] scale)
    {
        if (data.FeatureSize != shift.Length)
            throw new ArgumentException($"The scaler was fitted on {shift.Length} features per sample but the data has {data.FeatureSize}.", nameof(data));
        var features = (float[])data.Features.Clone();
        for (int i = 0; i < data.Count; i++)
        {
            var sample = features.AsSpan(i * shift.Length, shift.Length);
            for (int j = 0; j < sample.Length; j++) sample[j] = (sample[j] - shift[j]) * scale[j];
        }
        return new Dataset(features, data.Labels, [.. data.SampleShape], data.ClassCount) { ClassNames = data.ClassNames };
    }
}
