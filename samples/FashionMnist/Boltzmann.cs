using System.Globalization;
using NetDsl;
using NetDsl.Boltzmann;
using NetDsl.Data;
using NetDsl.Training;
using NetDsl.Optimizers;

namespace FashionMnist;

/// <summary>A restricted Boltzmann machine of Fashion-MNIST's pixels (/ 255, read as probabilities of being on).</summary>
[BoltzmannMachine]
public partial class FashionRbm
{
    [Visible(784, Units = UnitKind.Bernoulli)] public partial Layer Pixels { get; }
    [Hidden(128)] public partial Layer Features { get; }
}

/// <summary>`--model rbm`: trains <see cref="FashionRbm"/> and writes its filters and samples as PNG grids; `--pretrain`:
/// the sample MLP pretrained as a deep belief network against He initialization, fine-tuned on few labels.</summary>
static class BoltzmannSample
{
    public static int Train(Dataset rawTrain, int epochs, int seed, string outputDirectory)
    {
        var machine = new FashionRbm(seed);
        Console.WriteLine($"RBM: {FashionRbm.PixelsUnits} Bernoulli visible units, {FashionRbm.FeaturesUnits} hidden, CD-1, {epochs} epochs on {rawTrain.Count} images");
        var options = new BoltzmannTraining { Epochs = 1, BatchSize = 100, Seed = seed };
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // One epoch at a time, so the momentum switches at the guide's epoch.
            double error = machine.Fit(rawTrain.Features, options with
            {
                Seed = seed + epoch, InitialMomentum = epoch < options.MomentumSwitchEpoch ? options.InitialMomentum : options.FinalMomentum,
            })[0];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch,3}  reconstruction error {error:F3} per image  {clock.Elapsed.TotalSeconds:F1} s"));
        }
        Directory.CreateDirectory(outputDirectory);
        var weights = machine.Weights.ToArray();
        var filters = Enumerable.Range(0, FashionRbm.FeaturesUnits).Select(j => weights[(j * FashionRbm.PixelsUnits)..((j + 1) * FashionRbm.PixelsUnits)]).ToList();
        string filtersPath = Path.Combine(outputDirectory, "rbm-filters.png");
        Png.WriteGrid(filtersPath, filters, 28, 16);
        var samples = machine.Sample(64, steps: 1000);
        string samplesPath = Path.Combine(outputDirectory, "rbm-samples.png");
        Png.WriteGrid(samplesPath, Enumerable.Range(0, 64).Select(s => samples[(s * 784)..((s + 1) * 784)]).ToList(), 28, 8);
        Console.WriteLine($"wrote {filtersPath} (each hidden unit's weights) and {samplesPath} (64 samples after 1,000 Gibbs steps from noise)");
        return 0;
    }

    /// <summary>The sample MLP fine-tuned on <c>labels</c> labelled images, from He initialization and from DBN
    /// pretraining on all the unlabelled training images; test accuracy of each.</summary>
    public static int CompareWithPretraining(Dataset rawTrain, Dataset rawTest, int seed)
    {
        Console.WriteLine("labels   He initialization   DBN pretraining (RBMs 784-256, 256-128, 5 epochs each)");
        var pretrained = new FashionMlp(seed);
        var layers = Pretrain.GreedyLayerwise(pretrained, rawTrain.Features, new BoltzmannTraining { Epochs = 5, BatchSize = 100, Seed = seed });
        var start = pretrained.Parameters.ToArray();
        foreach (int labels in new[] { 1000, 5000 })
        {
            var (few, _) = rawTrain.HoldOut(rawTrain.Count - labels, seed);
            double Fit(FashionMlp network)
            {
                Trainer.Fit(network, new Adam(1e-3), few, null, new TrainingOptions { Epochs = 30, BatchSize = 64, Seed = seed });
                return Metrics.Evaluate(network, rawTest).Accuracy;
            }
            var fromPretraining = new FashionMlp(seed);
            start.CopyTo(fromPretraining.Parameters);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{labels,6}   {Fit(new FashionMlp(seed)),17:F4}   {Fit(fromPretraining),17:F4}"));
        }
        Console.WriteLine(string.Join("; ", layers.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Layer}: reconstruction error {l.ReconstructionErrors[0]:F2} → {l.ReconstructionErrors[^1]:F2}"))));
        return 0;
    }
}
