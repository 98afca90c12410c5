namespace NetDsl.Tests;

/// <summary>Seeded random inputs and targets for networks under test.</summary>
static class TestData
{
    public static float[] Uniform(int count, int seed, double low = -1, double high = 1)
    {
        var random = new Rng((ulong)seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)random.NextDouble(low, high);
        return values;
    }

    /// <summary>One-hot rows for a classification loss.</summary>
    public static float[] OneHot(int batch, int classes, int seed)
    {
        var random = new Rng((ulong)seed);
        var values = new float[batch * classes];
        for (int i = 0; i < batch; i++) values[i * classes + random.NextInt(classes)] = 1;
        return values;
    }

    /// <summary>Rows that sum to one, for a softmax output under MSE or soft cross-entropy targets.</summary>
    public static float[] Distribution(int batch, int classes, int seed)
    {
        var values = Uniform(batch * classes, seed, 0.05, 1);
        for (int i = 0; i < batch; i++)
        {
            var row = values.AsSpan(i * classes, classes);
            float sum = 0;
            foreach (var v in row) sum += v;
            for (int j = 0; j < classes; j++) row[j] /= sum;
        }
        return values;
    }
}
