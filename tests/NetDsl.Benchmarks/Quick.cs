using System.Diagnostics;
using System.Globalization;

namespace NetDsl.Benchmarks;

/// <summary>The one-minute overview: one line per figure, exactly <c>name value unit</c>. Each figure is the median of
/// several timed rounds after a warm-up, so a stray interruption does not decide it.</summary>
public static class Quick
{
    public static void Run(TextWriter output, string? only = null)
    {
        void Print(TextWriter output, string name, Func<double> measure, string unit)
        {
            if (only is null || only == name) Quick.Print(output, name, measure(), unit);
        }

        Print(output, "mlp-step-b32", () => Rate(new TrainingStep(new BenchMlp(), 32, true)), "samples/s");
        Print(output, "mlp-step-b128", () => Rate(new TrainingStep(new BenchMlp(), 128, true)), "samples/s");
        Print(output, "mlp-step-b1024", () => Rate(new TrainingStep(new BenchMlp(), 1024, true)), "samples/s");
        Print(output, "mlp-infer-b1", () => 1e6 / Rate(new Prediction(new BenchMlp(), 1)), "us");
        Print(output, "mlp-infer-b1-int8", () => 1e6 / Rate(new Prediction(new BenchMlp { InferencePrecision = InferencePrecision.Int8 }, 1)), "us");
        var dense = new Lazy<DenseLayer>(() => new DenseLayer(2048));
        Print(output, "dense2048-fwd-bwd", () => Rate(dense.Value, seconds: 4) * dense.Value.FlopsPerRun / 1e9, "GFLOP/s");
        Print(output, "cnn-step-b64", () => Rate(new TrainingStep(new FashionMnist.FashionCnn(), 64, true), seconds: 4), "samples/s");
        Print(output, "cnn-infer-b1", () => 1e6 / Rate(new Prediction(new FashionMnist.FashionCnn(), 1)), "us");
        Print(output, "cnn-infer-b64", () => Rate(new Prediction(new FashionMnist.FashionCnn(), 64)), "samples/s");
        Print(output, "conv2-sample-direct", () => 1e6 / Rate(new ConvolutionSample(ConvolutionSample.Kind.Direct)), "us");
        Print(output, "conv2-sample-winograd", () => 1e6 / Rate(new ConvolutionSample(ConvolutionSample.Kind.Winograd)), "us");
        Print(output, "conv2-weight-transform", () => 1e6 / Rate(new ConvolutionSample(ConvolutionSample.Kind.WeightTransform)), "us");
        Print(output, "tiny-step-b64", () => Rate(new TrainingStep(new TinyMlp(), 64, false)), "samples/s");
        Print(output, "tiny-step-b1", () => Rate(new TrainingStep(new TinyMlp(), 1, false)), "samples/s");
        Print(output, "fma-peak", () => FmaPeak.Measure(2), "GFLOP/s");
        Print(output, "l2-read", () => CacheRead.Measure(2), "GB/s");
        Print(output, "alloc-per-step", () => AllocatedPerStep(), "bytes");
    }

    static void Print(TextWriter output, string name, double value, string unit) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {value:0.###} {unit}"));

    /// <summary>Items per second: the median of five rounds of about <paramref name="seconds"/>/5 each.</summary>
    public static double Rate(Workload workload, double seconds = 2.5)
    {
        long perRound = Math.Max(1, (long)(WarmUp(workload) * seconds / 5));
        var watch = new Stopwatch();
        var rates = new double[5];
        for (int round = 0; round < rates.Length; round++)
        {
            watch.Restart();
            for (long i = 0; i < perRound; i++) workload.Run();
            rates[round] = perRound * workload.ItemsPerRun / watch.Elapsed.TotalSeconds;
        }
        Array.Sort(rates);
        return rates[rates.Length / 2];
    }

    /// <summary>Runs <paramref name="workload"/> long enough for tiered compilation to reach the optimized code, which
    /// takes 30 calls after a quiet 100 ms (a 2048-wide layer needs seconds for that, so a slow workload warms up for up
    /// to 10 s), and returns the runs per second it managed.</summary>
    public static double WarmUp(Workload workload)
    {
        var watch = Stopwatch.StartNew();
        int runs = 0;
        while (watch.Elapsed.TotalSeconds < 1.0 || (runs < 50 && watch.Elapsed.TotalSeconds < 10)) { workload.Run(); runs++; }
        return runs / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Bytes allocated (all threads) per training step and prediction of the MLP after warm-up (predictions in
    /// float and int8, of a batch and of one sample).</summary>
    static double AllocatedPerStep()
    {
        var step = new TrainingStep(new BenchMlp(), 128, true);
        var predict = new Prediction(new BenchMlp(), 128);
        var quantized = new BenchMlp { InferencePrecision = InferencePrecision.Int8 };
        var predictInt8 = new Prediction(quantized, 128);
        var predictOneInt8 = new Prediction(quantized, 1);
        void Run() { step.Run(); predict.Run(); predictInt8.Run(); predictOneInt8.Run(); }
        for (int i = 0; i < 50; i++) Run();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        const int steps = 200;
        for (int i = 0; i < steps; i++) Run();
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)steps;
    }
}
