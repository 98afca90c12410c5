using NetDsl.Optimizers;

namespace NetDsl.Tests;

public class OptimizerTests
{
    // 35 parameters exercise 512-bit, 256-bit and scalar paths.
    static float[] Values(int seed) => TestData.Uniform(35, seed);

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
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: 0));
        var error = Assert.Throws<ArgumentException>(() => new Sgd(0.1).Step(new float[3], new float[2]));
        Assert.Contains("3", error.Message);
        Assert.Contains("2", error.Message);
    }
}
