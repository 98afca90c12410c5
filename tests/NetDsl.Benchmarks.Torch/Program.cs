using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// libtorch's figures for the networks and layer of NetDsl's `quick` mode, on two threads, measured by the same code
// (Quick.Rate), printed as `torch-<name> value unit` lines so that ../NetDsl.Benchmarks/compare.py can put each NetDsl
// figure beside them. Run through run.sh.
torch.set_num_threads(2);
torch.random.manual_seed(0);
Console.WriteLine($"# libtorch {torch.__version__} through TorchSharp, {torch.get_num_threads()} threads");

foreach (int batch in new[] { 32, 128, 1024 })
    Print($"mlp-step-b{batch}", TrainingRate(Mlp(), batch, 784, 10, classify: true), "samples/s");
Print("mlp-infer-b1", 1e6 / InferenceRate(Mlp()), "us");
Print("dense2048-fwd-bwd", DenseRate(2048) * 3 * 2.0 * 2048 * 2048 * 2048 / 1e9, "GFLOP/s");
Print("cnn-step-b64", TrainingRate(Cnn(), 64, 784, 10, classify: true, seconds: 4), "samples/s");
Print("tiny-step-b64", TrainingRate(Tiny(), 64, 4, 4, classify: false), "samples/s");
Print("tiny-step-b1", TrainingRate(Tiny(), 1, 4, 4, classify: false), "samples/s");

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

// Items per second, timed as the quick mode times NetDsl (Quick.Rate: the median of five rounds after the warm-up).
static double Rate(Action run, int itemsPerRun, double seconds = 2.5) => NetDsl.Benchmarks.Quick.Rate(new Step(run, itemsPerRun), seconds);

// One Adam step (lr 1e-4) as NetDsl's TrainStep takes it: forward, loss, backward, update, the loss read back.
static double TrainingRate(Module<Tensor, Tensor> model, int batch, int inputs, int outputs, bool classify, double seconds = 2.5)
{
    model.train();
    var x = rand(batch, inputs) * 2 - 1;
    var y = classify ? randint(0, outputs, new long[] { batch }) : rand(batch, outputs) * 0.5f;
    var adam = optim.Adam(model.parameters(), 1e-4);
    return Rate(() =>
    {
        using var scope = NewDisposeScope();
        adam.zero_grad();
        var prediction = model.forward(x);
        var loss = classify ? functional.cross_entropy(prediction, y) : functional.mse_loss(prediction, y);
        loss.backward();
        adam.step();
        loss.item<float>();
    }, batch, seconds);
}

// Predictions per second of one sample, the outputs copied into the caller's buffer as NetDsl's PredictBatch does.
static double InferenceRate(Module<Tensor, Tensor> model)
{
    model.eval();
    var x = rand(1, 784);
    var outputs = new float[10];
    using var noGrad = no_grad();
    return Rate(() =>
    {
        using var scope = NewDisposeScope();
        model.forward(x).data<float>().CopyTo(outputs, 0);
    }, 1);
}

// The three products of a Dense layer's training step, as NetDsl's DenseLayer runs them: Y = X·Wᵀ + b, then
// dW = dYᵀ·X and db = Σ dY, then dX = dY·W.
static double DenseRate(int size)
{
    var x = rand(size, size);
    var w = rand(size, size) * 0.02f;
    var b = zeros(size);
    var dy = rand(size, size) * 0.01f;
    return Rate(() =>
    {
        using var scope = NewDisposeScope();
        var y = addmm(b, x, w.t(), 1, 1);
        var dw = dy.t().matmul(x);
        var db = dy.sum(0);
        var dx = dy.matmul(w);
    }, 1, seconds: 4);
}

/// <summary>A libtorch call as a workload of the quick mode.</summary>
sealed class Step(Action run, int itemsPerRun) : NetDsl.Benchmarks.Workload
{
    public override int ItemsPerRun => itemsPerRun;

    public override void Run() => run();
}
