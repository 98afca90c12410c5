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
        "pool" => new PoolTiming(),
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
if (args is ["rate", var what])
{
    Console.WriteLine(Quick.Rate(what == "pool" ? new PoolTiming() : new PoolPlain()));
    return;
}
if (args is ["quick", ..])
{
    Quick.Run(Console.Out);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Workload).Assembly).Run(args);

sealed class PoolTiming : Workload
{
    readonly float[] input = RandomValues(64 * 32 * 26 * 26, 1), output = new float[64 * 32 * 13 * 13], winners = new float[64 * 32 * 13 * 13];
    public override int ItemsPerRun => 64;
    public override void Run() => NetDsl.Kernels.Pooling.MaxForward<float>(input, output, winners, 64, new NetDsl.Kernels.ConvGeometry(32, 26, 26, 2, 2, 2, 0, 0, 13, 13));
}
sealed class PoolPlain : Workload
{
    readonly float[] input = RandomValues(64 * 32 * 26 * 26, 1), output = new float[64 * 32 * 13 * 13], winners = new float[64 * 32 * 13 * 13];
    public override int ItemsPerRun => 64;
    public override void Run()
    {
        for (int plane = 0; plane < 64 * 32; plane++)
            for (int oy = 0; oy < 13; oy++)
                for (int ox = 0; ox < 13; ox++)
                {
                    int at = plane * 676 + oy * 52 + ox * 2, best = at;
                    float v = input[at];
                    if (input[at + 1] > v) { v = input[at + 1]; best = at + 1; }
                    if (input[at + 26] > v) { v = input[at + 26]; best = at + 26; }
                    if (input[at + 27] > v) { v = input[at + 27]; best = at + 27; }
                    output[plane * 169 + oy * 13 + ox] = v;
                    winners[plane * 169 + oy * 13 + ox] = best;
                }
    }
}
