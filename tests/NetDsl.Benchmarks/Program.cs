using BenchmarkDotNet.Running;
using NetDsl.Benchmarks;

// Modes: `quick` (the one-minute overview, one `name value unit` line per figure), `one NAME` (one of those figures), `onnx`, `gpu`, `distributed`,
// `analysis` (the declaration analyzer's time), `profile NAME SECONDS` (a loop for dotnet-trace). Anything else goes to
// BenchmarkDotNet's switcher, e.g. `--filter *MlpTrainingStep*`.

// NETDSL_ONE_CORE=1 keeps every mode on the calling core (WorkSharing off), to see what sharing gains.
if (Environment.GetEnvironmentVariable("NETDSL_ONE_CORE") == "1") NetDsl.Kernels.WorkSharing.Enabled = false;

// `profile cnn|mlp|mlp32|tiny|tiny1|dense|infer|infer-int8|infer-cnn|infer-cnn64 SECONDS`: runs one workload in a loop, for a profiler to attach (dotnet-trace).
if (args is ["profile", var name, var seconds])
{
    Workload workload = name switch
    {
        "cnn" => new TrainingStep(new FashionMnist.FashionCnn(), 64, true),
        "mlp" => new TrainingStep(new BenchMlp(), 128, true),
        "mlp32" => new TrainingStep(new BenchMlp(), 32, true),
        "tiny" => new TrainingStep(new TinyMlp(), 64, false),
        "tiny1" => new TrainingStep(new TinyMlp(), 1, false),
        "dense" => new DenseLayer(2048),
        "infer-int8" => new Prediction(new BenchMlp { InferencePrecision = NetDsl.InferencePrecision.Int8 }, 1),
        "infer-cnn" => new Prediction(new FashionMnist.FashionCnn(), 1),
        "infer-cnn64" => new Prediction(new FashionMnist.FashionCnn(), 64),
        _ => new Prediction(new BenchMlp(), 1),
    };
    var until = DateTime.UtcNow.AddSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture));
    while (DateTime.UtcNow < until) workload.Run();
    return;
}
// `one NAME`: a single figure of the quick list, for tuning.
if (args is ["one", var figure])
{
    Quick.Run(Console.Out, figure);
    return;
}
// `analysis`: the declaration analyzer's time on one network (the analyzer issue's 50 ms budget).
if (args is ["analysis"])
{
    var (milliseconds, diagnostics) = Analysis.Measure();
    Console.WriteLine(FormattableString.Invariant($"analysis-fashion-cnn {milliseconds:0.###} ms ({diagnostics} diagnostics)"));
    return;
}
// `gpu`: the GPU issue's figures on the first CUDA device (`gpu cpu`: the same code on ILGPU's CPU accelerator, tiny sizes).
if (args is ["gpu", ..])
{
    try
    {
        GpuFigures.Run(Console.Out, simulated: args is [_, "cpu"]);
    }
    catch (NetDsl.Gpu.GpuUnavailableException error)
    {
        Console.Error.WriteLine($"error: {error.Message}");
        Environment.ExitCode = 2;
    }
    return;
}
// `distributed`: data-parallel steps, one rank on both cores against two ranks under mpirun, and the Allreduce of θ.
if (args is ["distributed"])
{
    DistributedFigures.Run(Console.Out);
    return;
}
// `onnx`: ONNX Runtime against NetDsl's PredictBatch on the same exported networks.
if (args is ["onnx"])
{
    OnnxFigures.Run(Console.Out);
    return;
}
if (args is ["quick", ..])
{
    Quick.Run(Console.Out);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Workload).Assembly).Run(args);
