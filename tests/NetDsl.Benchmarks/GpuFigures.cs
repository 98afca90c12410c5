using System.Diagnostics;
using System.Globalization;
using NetDsl.Gpu;
using NetDsl.Optimizers;

namespace NetDsl.Benchmarks;

/// <summary>The GPU figures of the GPU issue, one <c>name value unit</c> line each: training samples/s of the MLP at
/// batch 1024 and 65536, of the narrow MLP at 2^18 and of the Fashion CNN at 64 and 1024, single-sample inference
/// latency, and the first step's kernel compile time. <c>gpu cpu</c> runs the same on ILGPU's CPU accelerator at 1/256 of the batch sizes, to check the mode
/// anywhere; its figures mean nothing.</summary>
public static class GpuFigures
{
    public static void Run(TextWriter output, bool simulated)
    {
        using var device = GpuDevice.Create(simulated ? GpuBackend.Cpu : GpuBackend.Cuda);
        int shrink = simulated ? 256 : 1;
        output.WriteLine($"# device: {device.Name}");

        var mlp = new BenchMlp();
        using (var twin = mlp.ToGpu(device))
        {
            var compile = Stopwatch.StartNew();
            Step(twin, mlp, 1024 / shrink, out _);
            Print(output, "gpu-first-step-compile", compile.Elapsed.TotalSeconds, "s");
            Print(output, "gpu-mlp-step-b1024", Rate(twin, mlp, 1024 / shrink), "samples/s");
            Print(output, "gpu-mlp-step-b65536", Rate(twin, mlp, 65536 / shrink), "samples/s");
            Print(output, "gpu-mlp-infer-b1", 1e6 / InferenceRate(twin, mlp), "us");
        }
        var narrow = new NarrowMlp();
        using (var twin = narrow.ToGpu(device))
            Print(output, "gpu-narrow-step-b262144", Rate(twin, narrow, (1 << 18) / shrink), "samples/s");
        var cnn = new FashionMnist.FashionCnn();
        using (var twin = cnn.ToGpu(device))
        {
            Print(output, "gpu-cnn-step-b64", Rate(twin, cnn, Math.Max(2, 64 / shrink)), "samples/s");
            Print(output, "gpu-cnn-step-b1024", Rate(twin, cnn, Math.Max(2, 1024 / shrink)), "samples/s");
        }
        Print(output, "gpu-compile-total", device.CompileTime.TotalSeconds, "s");
    }

    static void Print(TextWriter output, string name, double value, string unit) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {value:0.###} {unit}"));

    static float Step(GpuNetwork twin, INeuralNetwork network, int batch, out (float[] Inputs, float[] Targets) data)
    {
        data = (Workload.RandomValues(batch * network.InputSize, 1), Workload.RandomValues(batch * network.OutputSize, 2, 0.5f));
        float loss = twin.TrainStep(data.Inputs, data.Targets, new Adam(1e-4));
        twin.Synchronize();
        return loss;
    }

    /// <summary>Samples per second over about two seconds of steps (after three warm-up steps), each step ending with
    /// the loss read back, as a training loop reads it.</summary>
    static double Rate(GpuNetwork twin, INeuralNetwork network, int batch)
    {
        var inputs = Workload.RandomValues(batch * network.InputSize, 1);
        var targets = Workload.RandomValues(batch * network.OutputSize, 2, 0.5f);
        var optimizer = new Adam(1e-4);
        for (int i = 0; i < 3; i++) twin.TrainStep(inputs, targets, optimizer);
        var watch = Stopwatch.StartNew();
        int steps = 0;
        while (watch.Elapsed.TotalSeconds < 2 || steps < 3) { twin.TrainStep(inputs, targets, optimizer); steps++; }
        twin.Synchronize();
        return (double)steps * batch / watch.Elapsed.TotalSeconds;
    }

    static double InferenceRate(GpuNetwork twin, INeuralNetwork network)
    {
        var input = Workload.RandomValues(network.InputSize, 3);
        var output = new float[network.OutputSize];
        for (int i = 0; i < 10; i++) twin.PredictBatch(input, output);
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.Elapsed.TotalSeconds < 1 || calls < 10) { twin.PredictBatch(input, output); calls++; }
        return calls / watch.Elapsed.TotalSeconds;
    }
}
