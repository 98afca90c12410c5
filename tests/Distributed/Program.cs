using System.Globalization;
using FashionMnist;
using NetDsl;
using NetDsl.Data;
using NetDsl.Distributed;
using NetDsl.Optimizers;
using NetDsl.Training;

// Under `mpirun -np 2`: each rank trains 5 steps of a global batch of 128 (64 per rank) with the data-parallel trainer,
// and rank 0 trains the same 5 steps alone with batch 128; the losses and θ must agree within 1e-5 relative, and θ
// must be identical on every rank. The sample MLP has dropout (masks keyed by the global sample index); the sample CNN
// has BatchNorm, synchronized over the ranks. Then the same for GPU twins on ILGPU's CPU accelerator (a small MLP with
// dropout), each rank with its own device and dθ summed through host memory. Exit code 0 when every case agrees.
using var ranks = Communicator.Start();
if (ranks.Size < 2)
{
    Console.Error.WriteLine("error: run this under mpirun with at least two ranks (tests/Distributed/run.sh does)");
    return 2;
}
string data = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "data");
const int Batch = 128, Steps = 5;
var all = Dataset.FromIdx(Path.Combine(data, "train-images-idx3-ubyte.gz"), Path.Combine(data, "train-labels-idx1-ubyte.gz"), 10);
var (subset, _) = all.HoldOut(all.Count - Batch * Steps, seed: 1);
var train = StandardScaler.Fit(subset).Transform(subset);
if (ranks.IsRoot) Console.WriteLine($"{ranks.Description}; {Steps} steps of batch {Batch} ({Batch / ranks.Size} per rank) on {train.Count} samples");

int failures = 0;
foreach (var (name, create) in new (string, Func<INeuralNetwork>)[] { ("mlp (dropout)", () => new FashionMlp(7)), ("cnn (synchronized BatchNorm)", () => new FashionCnn(7)) })
    foreach (var (optimizerName, optimizer) in new (string, Func<IOptimizer>)[] { ("sgd", () => new Sgd(0.05)), ("adam", () => new Adam(1e-3)) })
    {
        TrainingOptions Options(IDataParallelGroup? group) =>
            new() { Epochs = 1, BatchSize = Batch, Seed = 3, DataParallel = group, SynchronizeBatchNorm = group is not null };
        var network = create();
        var parallel = Trainer.Fit(network, optimizer(), train, null, Options(ranks)).Epochs[0];
        // θ on every rank against rank 0's.
        var theta = network.Parameters.ToArray();
        var root = (float[])theta.Clone();
        ranks.Broadcast(root);
        var differentRanks = new double[] { theta.AsSpan().SequenceEqual(root) ? 0 : 1 };
        ranks.SumAll(differentRanks);
        if (!ranks.IsRoot) continue;
        var alone = create();
        var single = Trainer.Fit(alone, optimizer(), train, null, Options(null)).Epochs[0];
        var reference = alone.Parameters.ToArray();
        double distance = RelativeDistance(theta, reference), moved = RelativeDistance(create().Parameters.ToArray(), reference);
        double lossError = Math.Abs(parallel.RunningLoss - single.RunningLoss) / single.RunningLoss;
        bool agrees = distance < 1e-5 && lossError < 1e-5 && differentRanks[0] == 0 && moved > 1e-4;
        failures += agrees ? 0 : 1;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(agrees ? "ok  " : "FAIL")} {name,-30} {optimizerName,-5} loss {parallel.RunningLoss:F6} vs {single.RunningLoss:F6} (relative {lossError:E1}); θ relative distance {distance:E1} (moved {moved:E1}); ranks {(differentRanks[0] == 0 ? "identical" : $"differ on {differentRanks[0]} rank(s)")}"));
    }
// GPU twins: the trainer's loop written out, as the sample's --gpu path runs it.
{
    float[] GpuTheta(IDataParallelGroup? group)
    {
        var host = new SmallMlp(7);
        using var device = NetDsl.Gpu.GpuDevice.Create(NetDsl.Gpu.GpuBackend.Cpu);
        using var twin = host.ToGpu(device);
        var adam = new Adam(1e-3);
        var batches = new MiniBatches(train, Batch, seed: 3);
        batches.Shuffle(1);
        for (int b = 0; b < Steps; b++)
        {
            var batch = batches.Get(b);
            float loss = group is null ? twin.TrainStep(batch.Inputs, batch.Targets, adam) : twin.TrainStep(batch.Inputs, batch.Targets, adam, group);
            if (!float.IsFinite(loss)) throw new InvalidOperationException($"GPU step {b} gave loss {loss}");
        }
        twin.Download();
        return host.Parameters.ToArray();
    }
    var theta = GpuTheta(ranks);
    var root = (float[])theta.Clone();
    ranks.Broadcast(root);
    var differentRanks = new double[] { theta.AsSpan().SequenceEqual(root) ? 0 : 1 };
    ranks.SumAll(differentRanks);
    if (ranks.IsRoot)
    {
        var reference = GpuTheta(null);
        double distance = RelativeDistance(theta, reference);
        bool agrees = distance < 1e-5 && differentRanks[0] == 0;
        failures += agrees ? 0 : 1;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(agrees ? "ok  " : "FAIL")} {"gpu twin, CPU accelerator",-30} adam  θ relative distance {distance:E1}; ranks {(differentRanks[0] == 0 ? "identical" : "differ")}"));
    }
}
var verdict = new double[] { failures };
ranks.Broadcast(verdict);
return verdict[0] == 0 ? 0 : 1;

// ‖a − b‖ / ‖b‖.
static double RelativeDistance(float[] a, float[] b) =>
    Math.Sqrt(a.Zip(b, (x, y) => (double)(x - y) * (x - y)).Sum() / b.Sum(v => (double)v * v));

/// <summary>A small MLP with dropout for the GPU twins, which run slowly on ILGPU's CPU accelerator.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class SmallMlp
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(32, Init = Init.He)] public partial Layer Hidden { get; }
    [ReLU] public partial Layer Act { get; }
    [Dropout(0.2)] public partial Layer Drop { get; }
    [Dense(10)] public partial Layer Logits { get; }
}
