using NetDsl.Data;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

/// <summary>Nothing corrupts a model silently: a failed step leaves every piece of state as it was, one instance used
/// from two threads throws, and a diverging run is called what it is.</summary>
public class ReliabilityTests
{
    [Fact]
    public void A_failed_step_leaves_theta_statistics_optimizer_state_and_step_count_as_they_were()
    {
        var network = new MixedCnn(seed: 1);
        var twin = new MixedCnn(seed: 1);
        var (adam, twinAdam) = (new Adam(0.01), new Adam(0.01));
        var x = TestData.Uniform(4 * 72, 1);
        var y = TestData.Distribution(4, 4, 2);
        for (int i = 0; i < 3; i++)
        {
            network.TrainStep(x, y, adam);
            twin.TrainStep(x, y, twinAdam);
        }
        var (theta, statistics, first, second, steps) =
            (network.Parameters.ToArray(), network.RunningStatistics.ToArray(), adam.FirstMoment.ToArray(), adam.SecondMoment.ToArray(), adam.Steps);

        var poisoned = (float[])x.Clone();
        poisoned[5] = float.NaN;
        Assert.True(float.IsNaN(network.TrainStep(poisoned, y, adam)));

        Assert.Equal(theta, network.Parameters.ToArray());
        Assert.Equal(statistics, network.RunningStatistics.ToArray());
        Assert.Equal(first, adam.FirstMoment.ToArray());
        Assert.Equal(second, adam.SecondMoment.ToArray());
        Assert.Equal(steps, adam.Steps);
        // The step count keys the dropout masks: the next step matches a twin that never saw the failure.
        network.TrainStep(x, y, adam);
        twin.TrainStep(x, y, twinAdam);
        Assert.Equal(twin.Parameters.ToArray(), network.Parameters.ToArray());
        Assert.Equal(twin.RunningStatistics.ToArray(), network.RunningStatistics.ToArray());
    }

    [Fact]
    public void A_diverged_fit_keeps_the_running_statistics_so_predictions_stay_finite()
    {
        var network = new MixedCnn(seed: 2);
        var features = TestData.Uniform(64 * 72, 3);
        var labels = Enumerable.Range(0, 64).Select(i => i % 4).ToArray();
        var clean = new Dataset(features, labels, [2, 6, 6], 4);
        Trainer.Fit(network, new Adam(0.01), clean, null, new TrainingOptions { Epochs = 2, BatchSize = 16 });
        var statistics = network.RunningStatistics.ToArray();

        var poisoned = (float[])features.Clone();
        poisoned[100] = float.NaN;
        Assert.Throws<TrainingDivergedException>(() =>
            Trainer.Fit(network, new Adam(0.01), new Dataset(poisoned, labels, [2, 6, 6], 4), null, new TrainingOptions { Epochs = 1, BatchSize = 16 }));
        Assert.Equal(statistics, network.RunningStatistics.ToArray());
        Assert.DoesNotContain(Metrics.Predict(network, clean), float.IsNaN);
    }

    [Fact]
    public void One_instance_used_from_two_threads_at_once_throws_a_clear_error()
    {
        var network = new FashionMlp(seed: 1);
        var x = TestData.Uniform(64 * 784, 1, 0, 1);
        var y = TestData.OneHot(64, 10, 2);
        var outputs = new float[64 * 10];
        var optimizer = new Sgd(0.01);
        var start = new Barrier(2);
        var errors = new InvalidOperationException?[2];
        bool stop = false;
        Thread Run(int index, Action pass) => new(() =>
        {
            start.SignalAndWait();
            try
            {
                for (int i = 0; i < 5000 && !Volatile.Read(ref stop); i++) pass();
            }
            catch (InvalidOperationException e)
            {
                errors[index] = e;
                Volatile.Write(ref stop, true);
            }
        });
        var threads = new[] { Run(0, () => network.TrainStep(x, y, optimizer)), Run(1, () => network.PredictBatch(x, outputs)) };
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        var error = errors[0] ?? errors[1];
        Assert.NotNull(error);
        Assert.Contains("FashionMlp is already running a pass on thread", error.Message);
        // Used from one thread again, the instance works (the guard was released).
        network.PredictBatch(x, outputs);
        network.TrainStep(x, y, optimizer);
    }

    [Fact]
    public void An_exploding_loss_is_called_what_it_is()
    {
        var network = new SmallClassifier(seed: 1);
        var data = new Dataset(TestData.Uniform(128 * 6, 4), Enumerable.Range(0, 128).Select(i => i % 3).ToArray(), [6], 3);
        var warnings = new List<string>();
#pragma warning disable ND0117 // the point: a learning rate that diverges
        Trainer.Fit(network, new Adam(1e10), data, null,
            new TrainingOptions { Epochs = 1, BatchSize = 16, Monitor = new TrainingMonitor(), OnWarning = warnings.Add });
#pragma warning restore ND0117
        Assert.Contains(warnings, w => w.Contains("exploding loss", StringComparison.Ordinal) && w.Contains("lower the learning rate", StringComparison.Ordinal));

        var calm = new List<string>();
        Trainer.Fit(new SmallClassifier(seed: 1), new Adam(0.001), data, null,
            new TrainingOptions { Epochs = 1, BatchSize = 16, Monitor = new TrainingMonitor(), OnWarning = calm.Add });
        Assert.DoesNotContain(calm, w => w.Contains("exploding loss", StringComparison.Ordinal));
    }

    [Fact]
    public void Adam_and_adadelta_form_one_minus_beta_in_double_as_pytorch()
    {
        // One step from zero state with g = 3: m = (1 − β₁)·g and v = (1 − β₂)·g², with 1 − β rounded once from double
        // (in float from the rounded β₂ it would be 0.00099998713, v 1.3e-5 relative low).
        var adam = new Adam(0.001);
        adam.Step(new float[] { 1f }, new float[] { 3f });
        Assert.Equal((float)(1 - 0.9) * 3f, adam.FirstMoment[0]);
        Assert.Equal((float)(1 - 0.999) * 9f, adam.SecondMoment[0]);
        Assert.Equal(0.009, adam.SecondMoment[0], 1e-9);
    }

    [Fact]
    public void Gradient_check_rejects_a_step_that_is_not_a_finite_positive_number()
    {
        var network = new TinyTanh(seed: 1);
        var (x, y) = (TestData.Uniform(4, 1), TestData.Uniform(4, 2));
        foreach (double epsilon in new[] { double.NaN, double.PositiveInfinity, 0, -1e-6 })
            Assert.Throws<ArgumentOutOfRangeException>(() => GradientCheck.Run(network, x, y, epsilon));
    }

    [Fact]
    public void Data_of_the_wrong_width_names_the_input_layer_and_both_shapes()
    {
        var network = new FashionMlp(seed: 1);
        var narrow = new Dataset(new float[8 * 392], new int[8], [392], 10);
        var error = Assert.Throws<ArgumentException>(() => Trainer.Fit(network, new Sgd(0.1), narrow, null, new TrainingOptions { Epochs = 1 }));
        Assert.Contains("FashionMlp's input 'Pixels' takes 784 values per sample, shape (784), but the samples of train hold 392, shape (392)", error.Message);
    }

    /// <summary>Passes that move the statistics and write a chosen loss and gradient, as a network's would.</summary>
    struct FakePasses(TrainingState state, float[] gradients, float[] statistics, float loss, float gradient) : ITrainingPasses
    {
        public int Restored;

        public readonly float ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets)
        {
            state.NextStepSeed();
            gradients.AsSpan().Fill(gradient);
            statistics.AsSpan().Fill(9);
            return loss;
        }

        public void StatisticsRestored() => Restored++;
    }

    [Theory]
    [InlineData(0.5f, 2f, true)]
    [InlineData(float.NaN, 2f, false)]
    [InlineData(0.5f, float.PositiveInfinity, false)]
    public void The_runtime_training_step_updates_theta_or_leaves_every_piece_of_state_as_it_was(float loss, float gradient, bool updates)
    {
        var state = new TrainingState("Net", statisticsCount: 2) { DropoutSeed = 7, Steps = 3 };
        float[] parameters = [1, 1, 1], gradients = new float[3], statistics = [0.25f, 4];
        var passes = new FakePasses(state, gradients, statistics, loss, gradient);
        float reported = state.TrainStep(ref passes, new float[2], new float[2], parameters, gradients, statistics, new Sgd(1));
        Assert.Equal(loss, reported);
        if (updates)
        {
            Assert.Equal([-1f, -1f, -1f], parameters); // θ − α·g with α = 1, g = 2
            Assert.Equal([9f, 9f], statistics);
            Assert.Equal(4UL, state.Steps);
            Assert.Equal(0, passes.Restored);
        }
        else
        {
            Assert.Equal([1f, 1f, 1f], parameters);
            Assert.Equal([0.25f, 4f], statistics);
            Assert.Equal(3UL, state.Steps);
            Assert.Equal(1, passes.Restored);
        }
        Assert.True(state.Enter()); // released: the next caller claims it
        state.Exit();
    }
}
