using NetDsl.Optimizers;

namespace NetDsl.Tests;

public class OptimizerTests
{
    // 35 parameters exercise 512-bit, 256-bit and scalar paths.
    static float[] Values(int seed, int count = 35) => TestData.Uniform(count, seed);

    [Fact]
    public void Sgd_step_is_theta_minus_alpha_times_gradient()
    {
        var theta = Values(1);
        var gradient = Values(2);
        var before = (float[])theta.Clone();
        new Sgd(0.1).Step(theta, gradient);
        for (int i = 0; i < theta.Length; i++) Assert.Equal(before[i] - 0.1 * gradient[i], theta[i], 1e-6);
    }

    [Fact]
    public void Adam_matches_the_bias_corrected_formula_over_several_steps()
    {
        var theta = Values(3);
        var reference = theta.Select(v => (double)v).ToArray();
        var m = new double[theta.Length];
        var v = new double[theta.Length];
        var adam = new Adam(0.01, 0.9, 0.999, 1e-8);
        for (int t = 1; t <= 5; t++)
        {
            var gradient = Values(10 + t);
            adam.Step(theta, gradient);
            for (int i = 0; i < theta.Length; i++)
            {
                m[i] = 0.9 * m[i] + 0.1 * gradient[i];
                v[i] = 0.999 * v[i] + 0.001 * gradient[i] * gradient[i];
                double mHat = m[i] / (1 - Math.Pow(0.9, t));
                double vHat = v[i] / (1 - Math.Pow(0.999, t));
                reference[i] -= 0.01 * mHat / (Math.Sqrt(vHat) + 1e-8);
            }
        }
        for (int i = 0; i < theta.Length; i++) Assert.Equal(reference[i], theta[i], 1e-5);
        Assert.Equal(5, adam.Steps);
    }

    /// <summary>Runs an optimizer for four steps beside a double-precision reference of its formula.</summary>
    static void MatchesReference(IOptimizer optimizer, Func<double, double, double[], double> step, int stateSize, double tolerance = 1e-5,
        int count = 35)
    {
        var theta = Values(20, count);
        var reference = theta.Select(v => (double)v).ToArray();
        var states = reference.Select(_ => new double[stateSize]).ToArray();
        for (int t = 1; t <= 4; t++)
        {
            var gradient = Values(30 + t, count);
            optimizer.Step(theta, gradient);
            for (int i = 0; i < theta.Length; i++) reference[i] = step(reference[i], gradient[i], states[i]);
        }
        for (int i = 0; i < theta.Length; i++) Assert.Equal(reference[i], theta[i], tolerance);
    }

    [Fact]
    public void A_long_theta_shared_between_the_cores_gets_every_value_updated_by_the_formula()
    {
        // 100,003 values: above the size where the update is split between the cores, with the split on a whole vector
        // and an odd tail in the second part. Rules with no, one and two state vectors.
        const int count = 100_003;
        MatchesReference(new Sgd(0.1), (theta, g, _) => theta - 0.1 * g, 0, count: count);
        MatchesReference(new Momentum(0.1, 0.8), (theta, g, v) => { v[0] = 0.8 * v[0] + 0.2 * g; return theta - 0.1 * v[0]; }, 1, count: count);
        MatchesReference(new Adam(0.01, 0.9, 0.999, 1e-8), (theta, g, s) =>
        {
            // s = [m, v, t]: the step count is kept per value, since the reference steps each value in turn.
            double t = ++s[2];
            s[0] = 0.9 * s[0] + 0.1 * g;
            s[1] = 0.999 * s[1] + 0.001 * g * g;
            return theta - 0.01 * (s[0] / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(s[1] / (1 - Math.Pow(0.999, t))) + 1e-8);
        }, 3, count: count);
    }

    [Fact]
    public void Momentum_with_and_without_dampening_matches_its_formula()
    {
        MatchesReference(new Momentum(0.1, 0.8), (theta, g, v) => { v[0] = 0.8 * v[0] + 0.2 * g; return theta - 0.1 * v[0]; }, 1);
        MatchesReference(new Momentum(0.1, 0.8, dampening: false), (theta, g, v) => { v[0] = 0.8 * v[0] + g; return theta - 0.1 * v[0]; }, 1);
    }

    [Fact]
    public void Nesterov_matches_its_formula()
    {
        MatchesReference(new Nesterov(0.05, 0.9), (theta, g, v) => { v[0] = 0.9 * v[0] + g; return theta - 0.05 * (g + 0.9 * v[0]); }, 1);
    }

    [Fact]
    public void AdaGrad_and_RMSprop_match_their_formulas()
    {
        MatchesReference(new AdaGrad(0.1, 1e-10), (theta, g, s) => { s[0] += g * g; return theta - 0.1 * g / (Math.Sqrt(s[0]) + 1e-10); }, 1);
        MatchesReference(new RmsProp(0.01, 0.9, 1e-8), (theta, g, s) => { s[0] = 0.9 * s[0] + 0.1 * g * g; return theta - 0.01 * g / (Math.Sqrt(s[0]) + 1e-8); }, 1);
    }

    [Fact]
    public void AdaDelta_matches_its_formula()
    {
        MatchesReference(new AdaDelta(1.0, 0.9, 1e-6), (theta, g, s) =>
        {
            s[0] = 0.9 * s[0] + 0.1 * g * g;
            double delta = Math.Sqrt(s[1] + 1e-6) / Math.Sqrt(s[0] + 1e-6) * g;
            s[1] = 0.9 * s[1] + 0.1 * delta * delta;
            return theta - delta;
        }, 2);
    }

    [Fact]
    public void AdamW_decays_the_weights_apart_from_the_gradient()
    {
        MatchesReference(new AdamW(0.01, 0.9, 0.999, 1e-8, weightDecay: 0.1), (theta, g, s) =>
        {
            // s[2] counts this element's steps: the bias corrections use t.
            s[0] = 0.9 * s[0] + 0.1 * g;
            s[1] = 0.999 * s[1] + 0.001 * g * g;
            s[2] += 1;
            double mHat = s[0] / (1 - Math.Pow(0.9, s[2])), vHat = s[1] / (1 - Math.Pow(0.999, s[2]));
            return theta - 0.01 * 0.1 * theta - 0.01 * mHat / (Math.Sqrt(vHat) + 1e-8);
        }, 3);
    }

    [Fact]
    public void Adam_first_step_moves_each_parameter_by_the_learning_rate_against_its_gradient_sign()
    {
        float[] theta = [1, 1];
        new Adam(0.001).Step(theta, [4, -0.5f]);
        Assert.Equal(1 - 0.001, theta[0], 1e-6);
        Assert.Equal(1 + 0.001, theta[1], 1e-6);
    }

    [Fact]
    public void Hyperparameters_out_of_range_are_rejected_on_construction()
    {
#pragma warning disable ND0117 // the out-of-range literals are the point of this test
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: 0));
#pragma warning restore ND0117
        var error = Assert.Throws<ArgumentException>(() => new Sgd(0.1).Step(new float[3], new float[2]));
        Assert.Contains("3", error.Message);
        Assert.Contains("2", error.Message);
    }
}
