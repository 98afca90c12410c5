using Microsoft.CodeAnalysis;
namespace NetDsl.Generators.Tests;

public class CallSiteTests
{
    static string Code(string body) => $$"""
        using NetDsl;
        using NetDsl.Data;
        using NetDsl.Optimizers;
        using NetDsl.Training;
        [Network(Loss = Loss.MeanSquaredError)]
        partial class Normed
        {
            [Input(4)] partial Layer In { get; }
            [Dense(4)] partial Layer A { get; }
            [BatchNorm] partial Layer N { get; }
        }
        class Use
        {
            void Run(NetDsl.INeuralNetwork network, float[] x, float[] y, Dataset trainSet, Dataset devSet, Dataset testSet)
            {
                {{body}}
            }
        }
        """;

    static string[] Fired(string body, string id) =>
        GeneratorHarness.AnalyzeSource(Code(body)).Where(d => d.Id == id).Select(d => d.GetMessage()).ToArray();

    /// <summary>Message and severity of each diagnostic <paramref name="id"/> on the body.</summary>
    static (string Message, DiagnosticSeverity Severity)[] Reported(string body, string id) =>
        GeneratorHarness.AnalyzeSource(Code(body)).Where(d => d.Id == id).Select(d => (d.GetMessage(), d.Severity)).ToArray();

    [Fact]
    public void Optimizer_literals_out_of_range_are_reported_as_errors_where_the_constructor_throws()
    {
        void Error(string body, string message)
        {
            var (text, severity) = Assert.Single(Reported(body, "ND0117"));
            Assert.Contains(message, text);
            Assert.Equal(DiagnosticSeverity.Error, severity);
        }
        Error("var a = new Adam(-0.1);", "Adam's learningRate = -0.1 is not a finite number > 0: the constructor throws");
        Error("var a = new Adam(0);", "Adam's learningRate = 0 is not a finite number > 0");
        Error("var a = new Adam(double.NaN);", "Adam's learningRate = NaN");
        Error("var a = new Momentum(0.1, beta: 1);", "Momentum's beta = 1 is outside [0, 1): the constructor throws");
        Error("var a = new Adam(beta2: double.NaN);", "Adam's beta2 = NaN is outside [0, 1)");
        Error("var a = new RmsProp(epsilon: 0);", "RmsProp's epsilon = 0 is not > 0: the constructor throws");
        // Legal but diverging: a warning.
        var (message, severity) = Assert.Single(Reported("var a = new Sgd(learningRate: 3);", "ND0117"));
        Assert.Contains("above 1", message);
        Assert.Equal(DiagnosticSeverity.Warning, severity);
        Assert.Empty(Fired("var a = new Adam(0.001, 0.9, 0.999, 1e-8); var b = new AdaDelta(1.0);", "ND0117"));
    }

    [Fact]
    public void A_gradient_check_step_outside_the_useful_range_is_reported()
    {
        Assert.Contains("below 1e-7", Assert.Single(Fired("GradientCheck.Run(network, x, y, epsilon: 1e-10);", "ND0124")));
        Assert.Contains("above 1e-3", Assert.Single(Fired("GradientCheck.Run(network, x, y, 0.01);", "ND0124")));
        Assert.Empty(Fired("GradientCheck.Run(network, x, y, epsilon: 1e-6); GradientCheck.Run(network, x, y);", "ND0124"));
    }

    [Fact]
    public void Gradient_checking_inside_a_training_loop_is_reported()
    {
        Assert.Single(Fired("for (int i = 0; i < 3; i++) { network.TrainStep(x, y, new Adam()); GradientCheck.Run(network, x, y); }", "ND0114"));
        Assert.Empty(Fired("for (int i = 0; i < 3; i++) network.TrainStep(x, y, new Adam()); GradientCheck.Run(network, x, y);", "ND0114"));
    }

    [Fact]
    public void Scalers_fitted_on_dev_or_test_data_are_reported()
    {
        Assert.Contains("'testSet' looks like test data", Assert.Single(Fired("var s = StandardScaler.Fit(testSet);", "ND0116")));
        Assert.Single(Fired("var s = MinMaxScaler.Fit(devSet);", "ND0116"));
        Assert.Empty(Fired("var s = StandardScaler.Fit(trainSet); var t = s.Transform(testSet);", "ND0116"));
    }

    [Fact]
    public void Scalers_are_judged_by_where_the_data_came_from_not_by_its_name()
    {
        // The parts of a split, whatever the variables are called.
        Assert.Contains("'held' is test data (Splits.TrainTest's test part)",
            Assert.Single(Fired("var (kept, held) = Splits.TrainTest(trainSet, 0.8, 1); var s = StandardScaler.Fit(held);", "ND0116")));
        Assert.Contains("'parts.Dev' is dev data (DataSplit.Dev)",
            Assert.Single(Fired("var parts = Splits.ByRatio(trainSet, 0.8, 0.1, 0.1, 1); var s = MinMaxScaler.Fit(parts.Dev);", "ND0116")));
        Assert.Contains("'b' is dev data (Splits.ByRatio's dev part)",
            Assert.Single(Fired("var parts = Splits.ByRatio(trainSet, 0.8, 0.1, 0.1, 1); var (a, b, c) = parts; var s = StandardScaler.Fit(b);", "ND0116")));
        Assert.Contains("is dev data (a split's Validation)",
            Assert.Single(Fired("foreach (var fold in Splits.KFold(trainSet, 5, 1)) { var s = StandardScaler.Fit(fold.Validation); }", "ND0116")));
        Assert.Single(Fired("var (a, b) = Splits.TrainTest(trainSet, 0.8, 1); var scaled = StandardScaler.Fit(a).Transform(b); var again = StandardScaler.Fit(scaled);", "ND0116"));
        // A test file read by a loader.
        Assert.Contains("is test data (read from \"t10k-images-idx3-ubyte\")",
            Assert.Single(Fired("var images = Dataset.FromIdx(\"t10k-images-idx3-ubyte\", \"t10k-labels-idx1-ubyte\", 10); var s = StandardScaler.Fit(images);", "ND0116")));
        // Fitted on the data a split divides, before it or after it: the scaler saw the dev and test samples too.
        Assert.Contains("'all' is the whole data set that Splits.ByRatio divides in this method, dev and test samples included",
            Assert.Single(Fired("Dataset all = trainSet; var s = StandardScaler.Fit(all); var parts = Splits.ByRatio(all, 0.8, 0.1, 0.1, 1);", "ND0116")));
        Assert.Single(Fired("Dataset all = trainSet; var (a, b) = Splits.TrainTest(all, 0.8, 1); var s = StandardScaler.Fit(all);", "ND0116"));
        // Close neighbours stay quiet: the training part under any name, fitting after the split, a training file.
        Assert.Empty(Fired("var (testLike, rest) = Splits.TrainTest(trainSet, 0.8, 1); var s = StandardScaler.Fit(testLike);", "ND0116"));
        Assert.Empty(Fired("Dataset all = trainSet; var parts = Splits.ByRatio(all, 0.8, 0.1, 0.1, 1); var s = StandardScaler.Fit(parts.Train); var t = s.Transform(parts.Test);", "ND0116"));
        Assert.Empty(Fired("foreach (var (fit, check) in Splits.KFold(trainSet, 5, 1)) { var s = StandardScaler.Fit(fit); }", "ND0116"));
        Assert.Empty(Fired("var images = Dataset.FromIdx(\"train-images-idx3-ubyte\", \"train-labels-idx1-ubyte\", 10); var s = StandardScaler.Fit(images);", "ND0116"));
    }

    [Fact]
    public void The_test_part_of_a_split_passed_as_the_dev_set_is_reported_whatever_its_name()
    {
        Assert.Contains("'b' is the test set (Splits.TrainTest's test part) but is passed as the dev set",
            Assert.Single(Fired("var (a, b) = Splits.TrainTest(trainSet, 0.8, 1); Trainer.Fit(network, new Adam(), a, b, new TrainingOptions());", "ND0118")));
        Assert.Empty(Fired("var parts = Splits.ByRatio(trainSet, 0.8, 0.1, 0.1, 1); Trainer.Fit(network, new Adam(), parts.Train, parts.Dev, new TrainingOptions());", "ND0118"));
    }

    [Fact]
    public void The_test_set_passed_as_the_dev_set_is_reported()
    {
        Assert.Single(Fired("Trainer.Fit(network, new Adam(), trainSet, testSet, new TrainingOptions());", "ND0118"));
        Assert.Empty(Fired("Trainer.Fit(network, new Adam(), trainSet, devSet, new TrainingOptions());", "ND0118"));
    }

    [Fact]
    public void A_batchnorm_network_trained_at_batch_size_one_is_reported()
    {
        Assert.Contains("'Normed' has BatchNorm layers", Assert.Single(Fired("Trainer.Fit(new Normed(), new Adam(), trainSet, devSet, new TrainingOptions { BatchSize = 1 });", "ND0119")));
        Assert.Empty(Fired("Trainer.Fit(new Normed(), new Adam(), trainSet, devSet, new TrainingOptions { BatchSize = 2 });", "ND0119"));
    }
}
