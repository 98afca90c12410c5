using System.Globalization;
using System.Text.RegularExpressions;
using NetDsl.Training;

namespace NetDsl.Tests;

/// <summary>The training report's HTML: self-contained, one plotted point per epoch at the place its value puts it, the
/// monitor's warnings on their epochs, and the confusion matrix with per-class accuracy computed from the counts.</summary>
public class TrainingReportTests
{
    static readonly TrainingHistory History = new(
    [
        new EpochResult(1, 1.0, 0.5, 1.2, 0.4, 1.1, TimeSpan.Zero, 0.01),
        new EpochResult(2, 0.5, 0.7, 0.9, 0.6, 0.6, TimeSpan.Zero, 0.005),
        new EpochResult(3, 0.25, 0.9, 0.8, 0.7, 0.3, TimeSpan.Zero, 0.0025),
    ], BestEpoch: 3, StoppedEarly: false);

    [Fact]
    public void The_report_plots_every_epoch_where_its_value_lies_and_needs_nothing_from_outside()
    {
        string html = TrainingReport.Render(new ReportContents
        {
            History = History, Title = "Run <1>", ConfusionMatrix = new[,] { { 3, 1 }, { 0, 4 } }, ClassNames = ["cat", "dog"],
            Options = new Dictionary<string, string> { ["epochs"] = "3" },
        });
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.Contains("Run &lt;1&gt;", html);
        // The loss chart: train loss 1.0, 0.5, 0.25 among values from 0.25 to 1.2 over a 196-pixel plot starting at y = 28.
        var loss = Regex.Match(html, "aria-label=\"Loss\".*?<polyline[^>]*points=\"([^\"]*)\"").Groups[1].Value.Split(' ');
        Assert.Equal(3, loss.Length);
        double Y(string point) => double.Parse(point.Split(',')[1], CultureInfo.InvariantCulture);
        double plotTop = 28, plotHeight = 260 - 28 - 36, low = 0.25, high = 1.2;
        Assert.Equal(plotTop + (high - 1.0) / (high - low) * plotHeight, Y(loss[0]), 2);
        Assert.Equal(plotTop + (high - 0.25) / (high - low) * plotHeight, Y(loss[2]), 2);
        // Per-class accuracy from the counts: cat 3 of 4, dog 4 of 4.
        Assert.Contains("<td>0.750</td>", html);
        Assert.Contains("<td>1.000</td>", html);
        Assert.Contains("<th>epochs</th><td>3</td>", html);
    }
}

/// <summary>The smoothed training loss: the bias-corrected EWMA against its closed form, and the trainer's record of it.</summary>
public class SmoothedLossTests
{
    [Fact]
    public void The_corrected_average_is_the_weighted_mean_of_the_losses_so_far()
    {
        var smoothed = new SmoothedLoss(beta: 0.5);
        Assert.True(double.IsNaN(smoothed.Value));
        Assert.Equal(4, smoothed.Add(4), 12);
        // (0.5·0.5·4 + 0.5·2) / (1 − 0.25) = 2/0.75.
        Assert.Equal(2 / 0.75, smoothed.Add(2), 12);
        double[] losses = [3, 1, 4, 1, 5, 9, 2, 6];
        var ewma = new SmoothedLoss(beta: 0.9);
        for (int t = 1; t <= losses.Length; t++)
        {
            double weighted = 0, weights = 0;
            for (int i = 1; i <= t; i++) (weighted, weights) = (weighted + Math.Pow(0.9, t - i) * losses[i - 1], weights + Math.Pow(0.9, t - i));
            Assert.Equal(weighted / weights, ewma.Add(losses[t - 1]), 12);
        }
        var constant = new SmoothedLoss();
        for (int t = 0; t < 5; t++) Assert.Equal(0.7, constant.Add(0.7), 12);
    }

    [Fact]
    public void The_trainer_keeps_one_smoothed_loss_per_step_and_the_report_plots_them()
    {
        var data = new NetDsl.Data.Dataset(TestData.Uniform(40 * 6, 1), Enumerable.Range(0, 40).Select(i => i % 3).ToArray(), [6], 3);
        var history = Trainer.Fit(new SmallClassifier(seed: 1), new NetDsl.Optimizers.Adam(0.01), data, null, new TrainingOptions { Epochs = 2, BatchSize = 16 });
        Assert.Equal(2 * 3, history.SmoothedLosses!.Count);
        Assert.Contains("Training loss per step (EWMA, β = 0.98, bias-corrected)", TrainingReport.Render(new ReportContents { History = history }));
    }
}
