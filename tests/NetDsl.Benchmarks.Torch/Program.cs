using System.Diagnostics;
using System.Globalization;
using NetDsl.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// libtorch's figures for the networks and layer of NetDsl's `quick` mode, on two threads, measured by the same code
// (Quick.Rate), printed as `torch-<name> value unit` lines so that ../NetDsl.Benchmarks/compare.py can put each NetDsl
// figure beside them. Run through run.sh.
//
// `interleaved [PAIRS]`: NetDsl and libtorch in this one process, each workload's two sides in alternating bursts of
// about a quarter of a second (PAIRS pairs, default 20), so that both sides of each ratio ran within the same half
// second: a shared VM's spells, which last seconds to minutes, then move both sides alike.
// `products [PAIRS]`: the same pairs for the 2048 layer's three products one at a time.
// NETDSL_ONE_CORE=1 runs both sides on one core (libtorch on one thread, NetDsl's WorkSharing off).
bool oneCore = Environment.GetEnvironmentVariable("NETDSL_ONE_CORE") == "1";
torch.set_num_threads(oneCore ? 1 : 2);
if (oneCore) NetDsl.Kernels.WorkSharing.Enabled = false;
torch.random.manual_seed(0);
Console.WriteLine($"# libtorch {torch.__version__} through TorchSharp, {torch.get_num_threads()} threads");

if (args is ["products", ..])
{
    int pairs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
    foreach (var kind in Enum.GetValues<DenseProduct.Kind>())
    {
        var product = new DenseProduct(2048, kind);
        Compare($"dense2048-{kind}", product, DenseStep(2048, kind), pairs, target: 1, flopsPerRun: product.FlopsPerRun);
    }
    return;
}
if (args is ["interleaved", ..])
{
    int pairs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
    var mlpInference = InferenceStep(Mlp());
    Compare("mlp-step-b32", new TrainingStep(new BenchMlp(), 32, true), TrainingStep(Mlp(), 32, 784, 10, classify: true), pairs, target: 2);
    Compare("mlp-step-b128", new TrainingStep(new BenchMlp(), 128, true), TrainingStep(Mlp(), 128, 784, 10, classify: true), pairs, target: 1.5);
    Compare("mlp-step-b1024", new TrainingStep(new BenchMlp(), 1024, true), TrainingStep(Mlp(), 1024, 784, 10, classify: true), pairs, target: 1);
    Compare("mlp-infer-b1", new Prediction(new BenchMlp(), 1), mlpInference, pairs, microseconds: true);
    Compare("mlp-infer-b1-int8", new Prediction(new BenchMlp { InferencePrecision = NetDsl.InferencePrecision.Int8 }, 1), mlpInference, pairs, microseconds: true);
    var dense = new DenseLayer(2048);
    Compare("dense2048-fwd-bwd", dense, DenseStep(2048), pairs, target: 1, flopsPerRun: dense.FlopsPerRun);
    Compare("cnn-step-b64", new TrainingStep(new FashionMnist.FashionCnn(), 64, true), TrainingStep(Cnn(), 64, 784, 10, classify: true), pairs, target: 1.5);
    Compare("tiny-step-b64", new TrainingStep(new TinyMlp(), 64, false), TrainingStep(Tiny(), 64, 4, 4, classify: false), pairs, target: 10);
    Compare("tiny-step-b1", new TrainingStep(new TinyMlp(), 1, false), TrainingStep(Tiny(), 1, 4, 4, classify: false), pairs, target: 10);
    return;
}

foreach (int batch in new[] { 32, 128, 1024 })
    Print($"mlp-step-b{batch}", Quick.Rate(TrainingStep(Mlp(), batch, 784, 10, classify: true)), "samples/s");
Print("mlp-infer-b1", 1e6 / Quick.Rate(InferenceStep(Mlp())), "us");
Print("dense2048-fwd-bwd", Quick.Rate(DenseStep(2048), seconds: 4) * 3 * 2.0 * 2048 * 2048 * 2048 / 1e9, "GFLOP/s");
Print("cnn-step-b64", Quick.Rate(TrainingStep(Cnn(), 64, 784, 10, classify: true), seconds: 4), "samples/s");
Print("tiny-step-b64", Quick.Rate(TrainingStep(Tiny(), 64, 4, 4, classify: false)), "samples/s");
Print("tiny-step-b1", Quick.Rate(TrainingStep(Tiny(), 1, 4, 4, classify: false)), "samples/s");

// One line per workload: the median over the pairs of NetDsl's rate over libtorch's (above 1: NetDsl faster), its
// range, how many pairs met the target ratio, and each side's median (µs per run for predictions).
// With flopsPerRun, each pair also measures the FMA peak (FmaPeak, a fifth of a second, on the cores the sides use) right
// after its two bursts, and NetDsl's GFLOP/s is given as a fraction of that pair's peak.
static void Compare(string name, Workload ours, Workload theirs, int pairs, double target = 0, bool microseconds = false, double flopsPerRun = 0)
{
    var ratios = new double[pairs];
    var ofPeak = new double[pairs];
    var ourRates = new double[pairs];
    var theirRates = new double[pairs];
    long ourRuns = Calibrate(ours), theirRuns = Calibrate(theirs);
    for (int pair = 0; pair < pairs; pair++)
    {
        // Each side goes first in every other pair, so neither always follows the other's threads winding down.
        if (pair % 2 == 0) { ourRates[pair] = Burst(ours, ourRuns); theirRates[pair] = Burst(theirs, theirRuns); }
        else { theirRates[pair] = Burst(theirs, theirRuns); ourRates[pair] = Burst(ours, ourRuns); }
        ratios[pair] = ourRates[pair] / theirRates[pair];
        if (flopsPerRun > 0) ofPeak[pair] = ourRates[pair] * flopsPerRun / 1e9 / FmaPeak.Measure(0.2, NetDsl.Kernels.WorkSharing.Enabled ? 0 : 1);
    }
    double Median(double[] values) { var sorted = values.Order().ToArray(); return (sorted[(sorted.Length - 1) / 2] + sorted[sorted.Length / 2]) / 2; }
    string Side(double rate) => microseconds ? $"{1e6 / rate:0.00} us" : $"{rate:0.#}/s";
    string met = target > 0 ? $", at least {target:0.#}x in {ratios.Count(r => r >= target)} of {pairs}" : "";
    if (microseconds) met = $", NetDsl within 3 us in {ourRates.Count(r => 1e6 / r <= 3)} of {pairs}";
    string peak = flopsPerRun > 0
        ? $"; NetDsl {Median(ourRates) * flopsPerRun / 1e9:0} GFLOP/s, {Median(ofPeak):0.00} of the pair's fma-peak [{ofPeak.Min():0.00}-{ofPeak.Max():0.00}], at least 0.6 in {ofPeak.Count(f => f >= 0.6)} of {pairs}"
        : "";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"pairs {name} {Median(ratios):0.00}x [{ratios.Min():0.00}-{ratios.Max():0.00}] over {pairs} pairs{met}; medians NetDsl {Side(Median(ourRates))}, libtorch {Side(Median(theirRates))}{peak}"));
}

// Runs per burst of about a quarter of a second, after the quick mode's warm-up (tiered compilation done).
static long Calibrate(Workload workload) => Math.Max(1, (long)(Quick.WarmUp(workload) * 0.25));

// A burst's items per second. The pause lets the other side's threads stop spinning and sleep: NetDsl's worker after
// about a millisecond, libtorch's OpenMP threads (libgomp) after 300,000 spins, over 15 ms here. The untimed first
// run wakes this side's threads.
static double Burst(Workload workload, long runs)
{
    Thread.Sleep(50);
    workload.Run();
    var watch = Stopwatch.StartNew();
    for (long i = 0; i < runs; i++) workload.Run();
    return runs * workload.ItemsPerRun / watch.Elapsed.TotalSeconds;
}

static void Print(string name, double value, string unit) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"torch-{name} {value:0.###} {unit}"));

// The networks of tests/NetDsl.Benchmarks/Networks.cs.
static Module<Tensor, Tensor> Mlp() => Sequential(
    ("hidden1", Linear(784, 256)), ("act1", ReLU()), ("hidden2", Linear(256, 128)), ("act2", ReLU()), ("logits", Linear(128, 10)));

static Module<Tensor, Tensor> Tiny() => Sequential(
    ("hidden1", Linear(4, 32)), ("act1", Tanh()), ("hidden2", Linear(32, 16)), ("act2", Tanh()), ("prediction", Linear(16, 4)));

static Module<Tensor, Tensor> Cnn() => Sequential(
    ("image", Unflatten(1, new long[] { 1, 28, 28 })),
    ("conv1", Conv2d(1, 32, 3, padding: 1, bias: false)), ("norm1", BatchNorm2d(32)), ("act1", ReLU()), ("pool1", MaxPool2d(2)),
    ("conv2", Conv2d(32, 64, 3, padding: 1, bias: false)), ("norm2", BatchNorm2d(64)), ("act2", ReLU()), ("pool2", MaxPool2d(2)),
    ("flat", Flatten()), ("hidden", Linear(64 * 7 * 7, 128)), ("act3", ReLU()), ("drop", Dropout(0.3)), ("logits", Linear(128, 10)));

// One Adam step (lr 1e-4) as NetDsl's TrainStep takes it: forward, loss, backward, update, the loss read back.
static Workload TrainingStep(Module<Tensor, Tensor> model, int batch, int inputs, int outputs, bool classify)
{
    model.train();
    var x = rand(batch, inputs) * 2 - 1;
    var y = classify ? randint(0, outputs, new long[] { batch }) : rand(batch, outputs) * 0.5f;
    var adam = optim.Adam(model.parameters(), 1e-4);
    return new Step(() =>
    {
        using var scope = NewDisposeScope();
        adam.zero_grad();
        var prediction = model.forward(x);
        var loss = classify ? functional.cross_entropy(prediction, y) : functional.mse_loss(prediction, y);
        loss.backward();
        adam.step();
        loss.item<float>();
    }, batch);
}

// A prediction of one sample, the outputs copied into the caller's buffer as NetDsl's PredictBatch does.
static Workload InferenceStep(Module<Tensor, Tensor> model)
{
    // The model's own parameters need no gradient, so no call builds a graph (what a no_grad scope around the calls
    // did, while training steps of other models run between them in the interleaved mode).
    model.eval();
    foreach (var parameter in model.parameters()) parameter.requires_grad = false;
    var x = rand(1, 784);
    var outputs = new float[10];
    return new Step(() =>
    {
        using var scope = NewDisposeScope();
        model.forward(x).data<float>().CopyTo(outputs, 0);
    }, 1);
}

// The three products of a Dense layer's training step, as NetDsl's DenseLayer runs them: Y = X·Wᵀ + b, then
// dW = dYᵀ·X and db = Σ dY, then dX = dY·W; or only the one named by `only`.
static Workload DenseStep(int size, DenseProduct.Kind? only = null)
{
    var x = rand(size, size);
    var w = rand(size, size) * 0.02f;
    var b = zeros(size);
    var dy = rand(size, size) * 0.01f;
    return new Step(() =>
    {
        using var scope = NewDisposeScope();
        if (only is null or DenseProduct.Kind.Forward) addmm(b, x, w.t(), 1, 1);
        if (only is null or DenseProduct.Kind.WeightGradient) { dy.t().matmul(x); dy.sum(0); }
        if (only is null or DenseProduct.Kind.InputGradient) dy.matmul(w);
    }, 1);
}

/// <summary>A libtorch call as a workload of the quick mode.</summary>
sealed class Step(Action run, int itemsPerRun) : Workload
{
    public override int ItemsPerRun => itemsPerRun;

    public override void Run() => run();
}
