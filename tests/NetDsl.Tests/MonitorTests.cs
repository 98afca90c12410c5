using NetDsl.Data;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

public class MonitorTests
{
    static Dataset Data(int features, int classes, int count = 24) =>
        new(TestData.Uniform(count * features, 3), Enumerable.Range(0, count).Select(i => i % classes).ToArray(), [features], classes);

    [Fact]
    public void Relu_outputs_all_at_zero_are_reported_dead()
    {
        var network = new SmallClassifier(seed: 1);
        network.Parameters.Slice(SmallClassifier.Hidden1BiasOffset, SmallClassifier.Hidden1BiasLength).Fill(-100);
        var warnings = new List<string>();
        var monitor = new TrainingMonitor();
        Trainer.Fit(network, new Sgd(1e-6), Data(6, 3), null, new TrainingOptions { Epochs = 1, BatchSize = 8, Monitor = monitor, OnWarning = warnings.Add });
        Assert.Contains(warnings, w => w.Contains("dead units: 100%") && w.Contains("'Act1'"));
        Assert.Equal(1.0, monitor.Reports[0].Layers.Single(l => l.Layer == "Act1").InactiveFraction);
    }

    [Fact]
    public void Saturated_tanh_layers_and_vanishing_gradients_are_reported()
    {
        var network = new TinyTanh(seed: 1);
        var firstWeights = network.Parameters.Slice(TinyTanh.H1WeightOffset, TinyTanh.H1WeightLength);
        for (int i = 0; i < firstWeights.Length; i++) firstWeights[i] *= 1e4f;
        var warnings = new List<string>();
        var data = new Dataset(TestData.Uniform(24 * 4, 3), Enumerable.Range(0, 24).Select(i => i % 4).ToArray(), [4], 4);
        Trainer.Fit(network, new Sgd(1e-6), data, null,
            new TrainingOptions { Epochs = 1, BatchSize = 8, Monitor = new TrainingMonitor(), OnWarning = warnings.Add });
        Assert.Contains(warnings, w => w.Contains("saturated units") && w.Contains("'T1'"));
        Assert.Contains(warnings, w => w.Contains("vanishing gradients"));
    }

    [Fact]
    public void A_healthy_network_raises_no_warning_and_reports_gradient_norms_and_update_ratios()
    {
        var network = new TinyTanh(seed: 1);
        var warnings = new List<string>();
        var monitor = new TrainingMonitor();
        var data = new Dataset(TestData.Uniform(24 * 4, 3), Enumerable.Range(0, 24).Select(i => i % 4).ToArray(), [4], 4);
        Trainer.Fit(network, new Adam(0.01), data, null, new TrainingOptions { Epochs = 2, BatchSize = 8, Monitor = monitor, OnWarning = warnings.Add });
        Assert.Empty(warnings);
        var h1 = monitor.Reports[1].Layers.Single(l => l.Layer == "H1");
        Assert.True(h1.GradientNorm > 0);
        Assert.InRange(h1.UpdateRatio!.Value, 1e-4, 1);
        Assert.Null(monitor.Reports[1].Layers.Single(l => l.Layer == "T1").GradientNorm);
    }

    [Fact]
    public void Dev_loss_rising_while_train_loss_falls_is_reported_as_overfitting()
    {
        var monitor = new TrainingMonitor();
        var network = new TinyTanh(seed: 1);
        monitor.BeginEpoch(network);
        var first = new EpochResult(1, 0.5, 0.8, 0.6, 0.75, 0.5, TimeSpan.Zero);
        var second = new EpochResult(2, 0.4, 0.85, 0.65, 0.74, 0.4, TimeSpan.Zero);
        var report = monitor.EndEpoch(network, second, first);
        Assert.Contains(report.Warnings, w => w.Contains("overfitting: dev loss rose 0.6000 → 0.6500"));
    }

    [Fact]
    public void The_progress_bar_shows_the_loss_and_throughput()
    {
        var progress = new StringWriter();
        Trainer.Fit(new TinyTanh(seed: 1), new Adam(), Data(4, 4), null, new TrainingOptions { Epochs = 1, BatchSize = 4, Progress = progress });
        Assert.Contains("100%", progress.ToString());
        Assert.Contains("samples/s", progress.ToString());
    }
}
