using System.Globalization;
using System.Net;
using System.Text;

namespace NetDsl.Training;

/// <summary>What a training report shows; everything but the history is optional.</summary>
public sealed record ReportContents
{
    /// <summary>The per-epoch figures (loss, accuracy, learning rate).</summary>
    public required TrainingHistory History { get; init; }

    /// <summary>The report's heading.</summary>
    public string Title { get; init; } = "Training report";

    /// <summary>The network's layers, for the summary table.</summary>
    public INeuralNetwork? Network { get; init; }

    /// <summary>The monitor that watched the run: per-layer gradient norms, update ratios and its warnings.</summary>
    public TrainingMonitor? Monitor { get; init; }

    /// <summary>Counts of (true class, predicted class) on the evaluation set, as <see cref="Metrics.ConfusionMatrix"/> gives them.</summary>
    public int[,]? ConfusionMatrix { get; init; }

    /// <summary>Names of the classes, for the confusion matrix.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The bias/variance verdict, as <see cref="BiasVariance.Diagnose"/> words it.</summary>
    public string? BiasVariance { get; init; }

    /// <summary>The run's options (model, epochs, batch size, ...), shown as given.</summary>
    public IReadOnlyDictionary<string, string>? Options { get; init; }
}

/// <summary>A training report a person looks at: one self-contained HTML file (inline SVG, no script and nothing
/// fetched from the internet) with the loss, accuracy and learning-rate curves, the monitor's per-layer figures and
/// warnings on the epochs they fired, the bias/variance verdict, the confusion matrix as a heat map with per-class
/// accuracy, the network summary and the run's options; and the step-by-step training loss, smoothed
/// (<see cref="SmoothedLoss"/>).</summary>
public static class TrainingReport
{
    const int Width = 560, Height = 260, Left = 56, Right = 16, Top = 28, Bottom = 36;
    static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

    /// <summary>Writes the report to <paramref name="path"/>.</summary>
    public static void Write(string path, ReportContents contents) => File.WriteAllText(path, Render(contents), Encoding.UTF8);

    /// <summary>The report's HTML.</summary>
    public static string Render(ReportContents contents)
    {
        var epochs = contents.History.Epochs;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(Text(contents.Title)).Append("</title>")
            .Append("<style>body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
            .Append("table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}")
            .Append("th{background:#f3f3f3}.charts{display:flex;flex-wrap:wrap;gap:16px}.warn{color:#a33}</style></head><body>\n");
        html.Append("<h1>").Append(Text(contents.Title)).Append("</h1>\n");
        html.Append(Number($"<p>{epochs.Count} epochs; the weights kept are epoch {contents.History.BestEpoch}'s{(contents.History.StoppedEarly ? " (stopped early)" : "")}.</p>\n"));
        if (contents.BiasVariance is { } verdict) html.Append("<p><b>Bias/variance:</b> ").Append(Text(verdict)).Append("</p>\n");

        html.Append("<h2>Curves</h2><div class=\"charts\">\n");
        var x = epochs.Select(e => (double)e.Epoch).ToArray();
        html.Append(Chart("Loss", x, [("train", epochs.Select(e => e.TrainLoss).ToArray()), ("dev", epochs.Select(e => e.DevLoss ?? double.NaN).ToArray()),
            ("running", epochs.Select(e => e.RunningLoss).ToArray())]));
        if (contents.History.SmoothedLosses is { Count: > 0 } steps)
            html.Append(Chart($"Training loss per step (EWMA, β = {SmoothedLoss.DefaultBeta.ToString(CultureInfo.InvariantCulture)}, bias-corrected)",
                Enumerable.Range(1, steps.Count).Select(s => (double)s).ToArray(), [("smoothed", steps.ToArray())]));
        html.Append(Chart("Accuracy", x, [("train", epochs.Select(e => e.TrainAccuracy).ToArray()), ("dev", epochs.Select(e => e.DevAccuracy ?? double.NaN).ToArray())]));
        html.Append(Chart("Learning rate", x, [("rate", epochs.Select(e => e.LearningRate).ToArray())]));
        if (contents.Monitor is { Reports.Count: > 0 } monitor)
        {
            var layers = monitor.Reports[0].Layers.Where(l => l.GradientNorm is not null).Select(l => l.Layer).ToList();
            var monitored = monitor.Reports.Select(r => (double)r.Epoch).ToArray();
            html.Append(Chart("Gradient norm per layer", monitored, layers.Select(layer => (layer,
                monitor.Reports.Select(r => r.Layers.FirstOrDefault(l => l.Layer == layer)?.GradientNorm ?? double.NaN).ToArray())).ToArray()));
            html.Append(Chart("Update/weight ratio per layer", monitored, layers.Select(layer => (layer,
                monitor.Reports.Select(r => r.Layers.FirstOrDefault(l => l.Layer == layer)?.UpdateRatio ?? double.NaN).ToArray())).ToArray()));
        }
        html.Append("</div>\n");

        if (contents.Monitor is { } watched)
        {
            html.Append("<h2>Monitor warnings</h2>\n");
            var fired = watched.Reports.Where(r => r.Warnings.Count > 0).ToList();
            if (fired.Count == 0) html.Append("<p>None.</p>\n");
            else
            {
                html.Append("<ul>\n");
                foreach (var report in fired)
                    foreach (var warning in report.Warnings)
                        html.Append(Number($"<li class=\"warn\">epoch {report.Epoch}: ")).Append(Text(warning)).Append("</li>\n");
                html.Append("</ul>\n");
            }
        }
        if (contents.ConfusionMatrix is { } confusion) html.Append(Confusion(confusion, contents.ClassNames));
        if (contents.Network is { } network)
        {
            html.Append("<h2>Network</h2><table><tr><th>layer</th><th>kind</th><th>output shape</th><th>parameters</th></tr>\n");
            foreach (var layer in network.Layers)
                html.Append("<tr><td>").Append(Text(layer.Name)).Append("</td><td>").Append(Text(layer.Kind)).Append("</td><td>")
                    .Append(Text(layer.ShapeText)).Append("</td><td>").Append(layer.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)).Append("</td></tr>\n");
            html.Append("</table>\n");
        }
        if (contents.Options is { Count: > 0 } options)
        {
            html.Append("<h2>Options</h2><table>\n");
            foreach (var (key, value) in options) html.Append("<tr><th>").Append(Text(key)).Append("</th><td>").Append(Text(value)).Append("</td></tr>\n");
            html.Append("</table>\n");
        }
        return html.Append("</body></html>\n").ToString();
    }

    static string Text(string text) => WebUtility.HtmlEncode(text);

    static string Number(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    static string Format(double value) => Math.Abs(value) is >= 1e-3 and < 1e4 or 0
        ? value.ToString("0.####", CultureInfo.InvariantCulture)
        : value.ToString("0.##E+0", CultureInfo.InvariantCulture);

    /// <summary>A line chart of the series over <paramref name="x"/> (NaN leaves a gap), with axes, ticks and a legend.</summary>
    static string Chart(string title, double[] x, (string Name, double[] Values)[] series)
    {
        var finite = series.SelectMany(s => s.Values).Where(double.IsFinite).ToList();
        var svg = new StringBuilder();
        svg.Append(Number($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"{title}\">"));
        svg.Append(Number($"<text x=\"{Width / 2}\" y=\"16\" text-anchor=\"middle\" font-size=\"14\">")).Append(Text(title)).Append("</text>");
        if (finite.Count == 0 || x.Length == 0)
            return svg.Append(Number($"<text x=\"{Width / 2}\" y=\"{Height / 2}\" text-anchor=\"middle\">no data</text></svg>\n")).ToString();
        double low = finite.Min(), high = finite.Max();
        if (high - low < 1e-12) (low, high) = (low - 0.5 * Math.Max(Math.Abs(low), 1e-3), high + 0.5 * Math.Max(Math.Abs(high), 1e-3));
        double xLow = x.Min(), xHigh = Math.Max(x.Max(), xLow + 1);
        double Px(double v) => Left + (v - xLow) / (xHigh - xLow) * (Width - Left - Right);
        double Py(double v) => Top + (high - v) / (high - low) * (Height - Top - Bottom);
        svg.Append(Number($"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"#888\"/>"));
        svg.Append(Number($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"#888\"/>"));
        for (int t = 0; t <= 4; t++)
        {
            double v = low + (high - low) * t / 4;
            svg.Append(Number($"<text x=\"{Left - 4}\" y=\"{Py(v) + 4:0.#}\" text-anchor=\"end\" font-size=\"10\">{Format(v)}</text>"));
        }
        foreach (double e in x.Distinct())
            svg.Append(Number($"<text x=\"{Px(e):0.#}\" y=\"{Height - Bottom + 14}\" text-anchor=\"middle\" font-size=\"10\">{e:0}</text>"));
        svg.Append(Number($"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 4}\" text-anchor=\"middle\" font-size=\"11\">epoch</text>"));
        for (int s = 0; s < series.Length; s++)
        {
            string color = Colors[s % Colors.Length];
            var points = x.Zip(series[s].Values).Where(p => double.IsFinite(p.Second)).Select(p => Number($"{Px(p.First):0.##},{Py(p.Second):0.##}")).ToList();
            if (points.Count == 0) continue;
            svg.Append(Number($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(" ", points)}\"/>"));
            foreach (var point in points)
            {
                var xy = point.Split(',');
                svg.Append(Number($"<circle cx=\"{xy[0]}\" cy=\"{xy[1]}\" r=\"2.5\" fill=\"{color}\"/>"));
            }
            svg.Append(Number($"<rect x=\"{Width - Right - 110}\" y=\"{Top + s * 15}\" width=\"10\" height=\"10\" fill=\"{color}\"/>"));
            svg.Append(Number($"<text x=\"{Width - Right - 96}\" y=\"{Top + s * 15 + 9}\" font-size=\"11\">")).Append(Text(series[s].Name)).Append("</text>");
        }
        return svg.Append("</svg>\n").ToString();
    }

    /// <summary>The confusion matrix as a heat map (each cell shaded by its share of the true class), with per-class accuracy.</summary>
    static string Confusion(int[,] confusion, IReadOnlyList<string>? names)
    {
        int classes = confusion.GetLength(0);
        string Name(int c) => names is not null && c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        var html = new StringBuilder("<h2>Confusion matrix</h2><p>Rows: the true class; columns: the predicted class.</p><table><tr><th></th>");
        for (int c = 0; c < classes; c++) html.Append("<th>").Append(Text(Name(c))).Append("</th>");
        html.Append("<th>accuracy</th></tr>\n");
        for (int r = 0; r < classes; r++)
        {
            long total = 0;
            for (int c = 0; c < classes; c++) total += confusion[r, c];
            html.Append("<tr><th>").Append(Text(Name(r))).Append("</th>");
            for (int c = 0; c < classes; c++)
            {
                double share = total == 0 ? 0 : (double)confusion[r, c] / total;
                int shade = (int)Math.Round(255 - 200 * share);
                html.Append(Number($"<td style=\"background:rgb({shade},{shade},255)\">{confusion[r, c]}</td>"));
            }
            html.Append(Number($"<td>{(total == 0 ? 0 : (double)confusion[r, r] / total):0.000}</td></tr>\n"));
        }
        return html.Append("</table>\n").ToString();
    }
}
