// Uses NetDsl as a new app does, through the packages alone: declares an MLP and a CNN, trains them on data whose
// labels are known by construction, predicts, saves and loads a checkpoint, and runs the generated GPU twin on
// ILGPU's CPU accelerator. Prints "N passed, N failed" and exits 1 on any failure.
using NetDsl.Gpu;
using NetDsl.Optimizers;
using NetDsl.Training;
using PackageConsumer;

int passed = 0, failed = 0;
void Check(bool condition, string what)
{
    Console.WriteLine($"{(condition ? "pass" : "FAIL")}: {what}");
    if (condition) passed++; else failed++;
}

var random = new Random(7);

// Three Gaussian blobs, centres 6 apart and σ = 0.5: a linear boundary separates them with near certainty.
const int blobSamples = 96;
var blobInputs = new float[blobSamples * BlobMlp.InputSize];
var blobTargets = new float[blobSamples * BlobMlp.OutputSize];
var blobLabels = new int[blobSamples];
for (int s = 0; s < blobSamples; s++)
{
    int label = s % 3;
    blobLabels[s] = label;
    blobTargets[s * 3 + label] = 1;
    for (int f = 0; f < 4; f++)
        blobInputs[s * 4 + f] = (f == label ? 6f : 0f) + 0.5f * Gaussian(random);
}

var mlp = new BlobMlp(seed: 1);
var adam = new Adam(0.01);
float firstLoss = mlp.TrainStep(blobInputs, blobTargets, adam);
float lastLoss = firstLoss;
for (int step = 0; step < 150; step++) lastLoss = mlp.TrainStep(blobInputs, blobTargets, adam);
Check(lastLoss < 0.1f * firstLoss, $"MLP loss falls tenfold in 150 steps ({firstLoss:F4} → {lastLoss:F4})");
var blobOutputs = new float[blobSamples * BlobMlp.OutputSize];
mlp.PredictBatch(blobInputs, blobOutputs);
Check(Accuracy(blobOutputs, blobLabels, 3) == 1.0, $"MLP classifies every blob sample ({Accuracy(blobOutputs, blobLabels, 3):P1})");
var single = new float[BlobMlp.OutputSize];
mlp.Predict(blobInputs.AsSpan(0, BlobMlp.InputSize), single);
Check(single.AsSpan().SequenceEqual(blobOutputs.AsSpan(0, BlobMlp.OutputSize)), "MLP: Predict of one sample equals its row of PredictBatch");

// Bars: label 0 is a bright row, label 1 a bright column, at a random place, over faint noise.
const int barSamples = 64;
var barInputs = new float[barSamples * BarCnn.InputSize];
var barTargets = new float[barSamples * BarCnn.OutputSize];
var barLabels = new int[barSamples];
for (int s = 0; s < barSamples; s++)
{
    int label = s % 2, at = random.Next(1, 7);
    barLabels[s] = label;
    barTargets[s * 2 + label] = 1;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            barInputs[s * 64 + y * 8 + x] = ((label == 0 ? y : x) == at ? 1f : 0f) + 0.05f * Gaussian(random);
}

var cnn = new BarCnn(seed: 2);
var cnnAdam = new Adam(0.01);
float cnnFirst = cnn.TrainStep(barInputs, barTargets, cnnAdam), cnnLast = cnnFirst;
for (int step = 0; step < 60; step++) cnnLast = cnn.TrainStep(barInputs, barTargets, cnnAdam);
Check(cnnLast < 0.25f * cnnFirst, $"CNN loss falls fourfold in 60 steps ({cnnFirst:F4} → {cnnLast:F4})");
var barOutputs = new float[barSamples * BarCnn.OutputSize];
cnn.PredictBatch(barInputs, barOutputs);
Check(Accuracy(barOutputs, barLabels, 2) >= 0.95, $"CNN tells rows from columns ({Accuracy(barOutputs, barLabels, 2):P1})");

// A checkpoint carries θ, the BatchNorm running statistics and Adam's state into a network of another seed.
string path = Path.Combine(Path.GetTempPath(), $"netdsl-consumer-{Environment.ProcessId}.safetensors");
Checkpoint.Save(path, cnn, cnnAdam, epoch: 3);
var restored = new BarCnn(seed: 99);
var restoredAdam = new Adam(0.01);
int epoch = Checkpoint.Load(path, restored, restoredAdam);
File.Delete(path);
var restoredOutputs = new float[barOutputs.Length];
restored.PredictBatch(barInputs, restoredOutputs);
Check(epoch == 3, $"the checkpoint keeps the epoch ({epoch})");
Check(restoredOutputs.AsSpan().SequenceEqual(barOutputs), "a loaded checkpoint predicts bit for bit as the saved network");
float next = cnn.TrainStep(barInputs, barTargets, cnnAdam), restoredNext = restored.TrainStep(barInputs, barTargets, restoredAdam);
Check(next == restoredNext, $"training goes on identically after loading, optimizer state included ({next} vs {restoredNext})");

// The GPU twin exists because this project references NetDsl.Gpu; at the initial θ its loss must match the CPU's.
var fresh = new BlobMlp(seed: 5);
using (var device = GpuDevice.Create(GpuBackend.Cpu))
using (var gpu = fresh.ToGpu(device))
{
    float cpuLoss = fresh.EvaluateLoss(blobInputs, blobTargets);
    float gpuLoss = gpu.TrainStep(blobInputs, blobTargets, new Sgd(0.001));
    Check(Math.Abs(gpuLoss - cpuLoss) <= 1e-5 * cpuLoss, $"the GPU twin's loss matches the CPU's ({gpuLoss} vs {cpuLoss})");
}

Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;

static double Accuracy(float[] outputs, int[] labels, int classes)
{
    int right = 0;
    for (int s = 0; s < labels.Length; s++)
    {
        int best = 0;
        for (int c = 1; c < classes; c++) if (outputs[s * classes + c] > outputs[s * classes + best]) best = c;
        if (best == labels[s]) right++;
    }
    return (double)right / labels.Length;
}

static float Gaussian(Random random) =>
    (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
