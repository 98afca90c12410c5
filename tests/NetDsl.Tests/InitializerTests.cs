namespace NetDsl.Tests;

/// <summary>Each initializer's sample mean and variance against its formula on a large layer.</summary>
public class InitializerTests
{
    const int FanIn = 500, FanOut = 400, Count = FanIn * FanOut; // 200,000 weights

    public static TheoryData<Init, double, double, double, double> Cases => new()
    {
        // init, first, second, expected mean, expected variance
        { Init.He, 0, 0, 0, 2.0 / FanIn },
        { Init.HeUniform, 0, 0, 0, 2.0 / FanIn },            // U(±√(6/n)) has variance 6/n / 3
        { Init.Xavier, 0, 0, 0, 2.0 / (FanIn + FanOut) },
        { Init.XavierUniform, 0, 0, 0, 2.0 / (FanIn + FanOut) },
        { Init.LeCun, 0, 0, 0, 1.0 / FanIn },
        { Init.LeCunUniform, 0, 0, 0, 1.0 / FanIn },
        { Init.Uniform, -0.2, 0.6, 0.2, 0.8 * 0.8 / 12 },
        { Init.Normal, 1.5, 0.3, 1.5, 0.09 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sample_mean_and_variance_match_the_formula(Init init, double first, double second, double mean, double variance)
    {
        var weights = new float[Count];
        Initializers.Fill(weights, init, FanIn, FanOut, new Rng(17), first, second);
        double sampleMean = weights.Average(w => (double)w);
        double sampleVariance = weights.Average(w => (w - sampleMean) * (w - sampleMean));
        // Four standard errors: √(variance / n) for the mean, variance·√(2 / n) (normal, the widest case) for the variance.
        Assert.InRange(sampleMean, mean - 4 * Math.Sqrt(variance / Count), mean + 4 * Math.Sqrt(variance / Count));
        Assert.InRange(sampleVariance, variance * (1 - 4 * Math.Sqrt(2.0 / Count)), variance * (1 + 4 * Math.Sqrt(2.0 / Count)));
    }

    [Fact]
    public void Constant_initializers_fill_every_weight()
    {
        var weights = new float[10];
        Initializers.Fill(weights, Init.Ones, 2, 5, new Rng(1));
        Assert.All(weights, w => Assert.Equal(1f, w));
        Initializers.Fill(weights, Init.Constant, 2, 5, new Rng(1), 0.25);
        Assert.All(weights, w => Assert.Equal(0.25f, w));
        Initializers.Fill(weights, Init.Zeros, 2, 5, new Rng(1));
        Assert.All(weights, w => Assert.Equal(0f, w));
    }

    [Fact]
    public void Bad_initializer_arguments_are_rejected()
    {
        var weights = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Fill(weights, Init.Uniform, 2, 2, new Rng(1), 0.5, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Fill(weights, Init.Normal, 2, 2, new Rng(1), 0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Fill(weights, Init.Auto, 2, 2, new Rng(1)));
    }

    [Fact]
    public void Declared_initializer_arguments_reach_the_weights()
    {
        var network = new ActivationZoo(seed: 3);
        var uniform = network.Parameters.Slice(ActivationZoo.Hidden2WeightOffset, ActivationZoo.Hidden2WeightLength).ToArray();
        Assert.All(uniform, w => Assert.InRange(w, -0.5f, 0.6f));
        Assert.True(uniform.Max() > 0.5f && uniform.Min() < -0.4f);
    }
}
