namespace NetDsl.Data;

/// <summary>Random image augmentation for (channels, height, width) samples, drawn per sample of each mini-batch
/// from a seeded generator: horizontal and vertical flips, a random crop of a zero-padded copy (which is a
/// translation by up to <see cref="CropPadding"/> pixels), a further translation, a small rotation (bilinear), and
/// Gaussian input noise. Everything is off by default.</summary>
public sealed record Augmentation
{
    /// <summary>Probability of mirroring left-right.</summary>
    public double HorizontalFlip { get; init; }

    /// <summary>Probability of mirroring top-bottom.</summary>
    public double VerticalFlip { get; init; }

    /// <summary>Pad by this many zero pixels and crop back to the original size at a random offset.</summary>
    public int CropPadding { get; init; }

    /// <summary>Shift by up to this many pixels in each direction (zeros fill in).</summary>
    public int MaxTranslation { get; init; }

    /// <summary>Rotate by a uniform angle in ±this many degrees about the centre.</summary>
    public double MaxRotationDegrees { get; init; }

    /// <summary>Standard deviation of Gaussian noise added to every value.</summary>
    public double NoiseStandardDeviation { get; init; }

    /// <summary>Augments <paramref name="count"/> samples of shape (channels, height, width) in place.</summary>
    public void Apply(Span<float> samples, int count, int channels, int height, int width, Rng random, Span<float> scratch)
    {
        int size = channels * height * width;
        if (samples.Length < count * size)
            throw new ArgumentException($"samples hold {samples.Length} values but {count} samples of shape ({channels}, {height}, {width}) need {count * size}.", nameof(samples));
        if (scratch.Length < size) throw new ArgumentException($"The scratch buffer needs {size} values, it has {scratch.Length}.", nameof(scratch));
        for (int s = 0; s < count; s++)
        {
            var sample = samples.Slice(s * size, size);
            bool flipX = random.NextDouble() < HorizontalFlip, flipY = random.NextDouble() < VerticalFlip;
            int shiftX = 0, shiftY = 0;
            if (CropPadding > 0) { shiftX += random.NextInt(2 * CropPadding + 1) - CropPadding; shiftY += random.NextInt(2 * CropPadding + 1) - CropPadding; }
            if (MaxTranslation > 0) { shiftX += random.NextInt(2 * MaxTranslation + 1) - MaxTranslation; shiftY += random.NextInt(2 * MaxTranslation + 1) - MaxTranslation; }
            double angle = MaxRotationDegrees > 0 ? random.NextDouble(-MaxRotationDegrees, MaxRotationDegrees) * Math.PI / 180 : 0;
            if (flipX || flipY || shiftX != 0 || shiftY != 0 || angle != 0)
            {
                sample.CopyTo(scratch);
                Resample(scratch[..size], sample, channels, height, width, flipX, flipY, shiftX, shiftY, angle);
            }
            if (NoiseStandardDeviation > 0)
                for (int i = 0; i < size; i++) sample[i] += (float)(NoiseStandardDeviation * random.NextGaussian());
        }
    }

    /// <summary>Output pixel (x, y) reads the source at the inverse transform of (x, y): un-shift, un-rotate about the
    /// centre, un-flip; off-image reads are zero, fractional ones bilinear.</summary>
    static void Resample(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width,
        bool flipX, bool flipY, int shiftX, int shiftY, double angle)
    {
        double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0, cos = Math.Cos(angle), sin = Math.Sin(angle);
        for (int c = 0; c < channels; c++)
        {
            var plane = source.Slice(c * height * width, height * width);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double u = x - shiftX - cx, v = y - shiftY - cy;
                    double sx = cos * u + sin * v + cx, sy = -sin * u + cos * v + cy;
                    if (flipX) sx = width - 1 - sx;
                    if (flipY) sy = height - 1 - sy;
                    destination[(c * height + y) * width + x] = Bilinear(plane, height, width, sx, sy);
                }
        }
    }

    static float Bilinear(ReadOnlySpan<float> plane, int height, int width, double x, double y)
    {
        int x0 = (int)Math.Floor(x), y0 = (int)Math.Floor(y);
        double fx = x - x0, fy = y - y0;
        return (float)((1 - fy) * ((1 - fx) * At(plane, height, width, x0, y0) + fx * At(plane, height, width, x0 + 1, y0))
            + fy * ((1 - fx) * At(plane, height, width, x0, y0 + 1) + fx * At(plane, height, width, x0 + 1, y0 + 1)));
    }

    static double At(ReadOnlySpan<float> plane, int height, int width, int x, int y) =>
        (uint)x < (uint)width && (uint)y < (uint)height ? plane[y * width + x] : 0;
}
