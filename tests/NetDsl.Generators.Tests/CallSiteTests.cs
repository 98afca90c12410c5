namespace NetDsl.Generators.Tests;

public class CallSiteTests
{
    static string Code(string body) => $$"""
        using NetDsl.Optimizers;
        using NetDsl.Training;
        class Use
        {
            void Run(NetDsl.INeuralNetwork network, float[] x, float[] y)
            {
                {{body}}
            }
        }
        """;

    static string[] Fired(string body, string id) =>
        GeneratorHarness.AnalyzeSource(Code(body)).Where(d => d.Id == id).Select(d => d.GetMessage()).ToArray();

    [Fact]
    public void Optimizer_literals_out_of_range_are_reported_and_sensible_ones_are_not()
    {
        Assert.Contains("Adam's learningRate = -0.1 is not > 0", Assert.Single(Fired("var a = new Adam(-0.1);", "ND0117")));
        Assert.Contains("above 1", Assert.Single(Fired("var a = new Sgd(learningRate: 3);", "ND0117")));
        Assert.Contains("Momentum's beta = 1 is outside [0, 1)", Assert.Single(Fired("var a = new Momentum(0.1, beta: 1);", "ND0117")));
        Assert.Single(Fired("var a = new RmsProp(epsilon: 0);", "ND0117"));
        Assert.Empty(Fired("var a = new Adam(0.001, 0.9, 0.999, 1e-8); var b = new AdaDelta(1.0);", "ND0117"));
    }

    [Fact]
    public void A_gradient_check_step_outside_the_useful_range_is_reported()
    {
        Assert.Contains("below 1e-7", Assert.Single(Fired("GradientCheck.Run(network, x, y, epsilon: 1e-10);", "ND0124")));
        Assert.Contains("above 1e-3", Assert.Single(Fired("GradientCheck.Run(network, x, y, 0.01);", "ND0124")));
        Assert.Empty(Fired("GradientCheck.Run(network, x, y, epsilon: 1e-6); GradientCheck.Run(network, x, y);", "ND0124"));
    }
}
