using System.ComponentModel;

namespace NetDsl;

/// <summary>Weight initializers by fan-in and fan-out (for a Dense layer: inputs and units).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Initializers
{
    /// <summary>Fills <paramref name="weights"/> from the distribution <paramref name="init"/> names. The two arguments are
    /// the value of <see cref="Init.Constant"/>, the bounds of <see cref="Init.Uniform"/> and the mean and standard deviation
    /// of <see cref="Init.Normal"/>; the other initializers ignore them.</summary>
    public static void Fill(Span<float> weights, Init init, int fanIn, int fanOut, Rng random, double first = 0, double second = 0)
    {
        if (fanIn <= 0 || fanOut <= 0)
            throw new ArgumentOutOfRangeException(nameof(fanIn), $"Fans must be positive, got fanIn={fanIn}, fanOut={fanOut}.");
        switch (init)
        {
            case Init.Zeros: weights.Clear(); break;
            case Init.He: Normal(weights, Math.Sqrt(2.0 / fanIn), random); break;
            case Init.Xavier: Normal(weights, Math.Sqrt(2.0 / (fanIn + fanOut)), random); break;
            case Init.LeCun: Normal(weights, Math.Sqrt(1.0 / fanIn), random); break;
            case Init.HeUniform: Uniform(weights, Math.Sqrt(6.0 / fanIn), random); break;
            case Init.XavierUniform: Uniform(weights, Math.Sqrt(6.0 / (fanIn + fanOut)), random); break;
            case Init.LeCunUniform: Uniform(weights, Math.Sqrt(3.0 / fanIn), random); break;
            case Init.Ones: weights.Fill(1); break;
            case Init.Constant: weights.Fill((float)first); break;
            case Init.Uniform:
                if (!(first < second)) throw new ArgumentOutOfRangeException(nameof(second), $"Uniform({first}, {second}) needs low < high.");
                for (int i = 0; i < weights.Length; i++) weights[i] = (float)random.NextDouble(first, second);
                break;
            case Init.Normal:
                if (!(second > 0)) throw new ArgumentOutOfRangeException(nameof(second), second, "A normal initializer needs a standard deviation > 0.");
                for (int i = 0; i < weights.Length; i++) weights[i] = (float)(first + second * random.NextGaussian());
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(init), init,
                    "Init.Auto is resolved by the generator from the following activation; pass a concrete initializer.");
        }
    }

    static void Normal(Span<float> weights, double standardDeviation, Rng random)
    {
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)(standardDeviation * random.NextGaussian());
    }

    static void Uniform(Span<float> weights, double limit, Rng random)
    {
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)random.NextDouble(-limit, limit);
    }
}
