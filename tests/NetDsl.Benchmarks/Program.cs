using BenchmarkDotNet.Running;
using NetDsl.Benchmarks;

// `quick`: the one-minute overview (name value unit per line). Anything else goes to BenchmarkDotNet's switcher,
// e.g. `--filter *Mlp*`.
// `profile NAME SECONDS`: runs one workload in a loop, for a profiler to attach (dotnet-trace).
if (args is ["profile", var name, var seconds])
{
    Workload workload = name switch
    {
        "cnn" => new TrainingStep(new BenchCnn(), 64, true),
        "mlp" => new TrainingStep(new BenchMlp(), 128, true),
        "mlp32" => new TrainingStep(new BenchMlp(), 32, true),
        "dense" => new DenseLayer(2048),
        _ => new Prediction(new BenchMlp(), 1),
    };
    var until = DateTime.UtcNow.AddSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture));
    while (DateTime.UtcNow < until) workload.Run();
    return;
}
// `one NAME`: a single quick figure, for tuning.
if (args is ["one", var figure])
{
    Quick.Run(Console.Out, figure);
    return;
}
if (args is ["quick", ..])
{
    Quick.Run(Console.Out);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Workload).Assembly).Run(args);
