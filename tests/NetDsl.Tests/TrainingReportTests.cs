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
