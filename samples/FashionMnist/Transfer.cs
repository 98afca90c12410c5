using System.Globalization;
using NetDsl;
using NetDsl.Data;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace FashionMnist;

/// <summary>The pretrained model: an MLP trained on eight of the ten classes (all but Pullover and Coat).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class FashionEight
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(256, Init = Init.He)] public partial Layer Hidden1 { get; }
    [ReLU] public partial Layer Act1 { get; }
    [Dense(128, Init = Init.He)] public partial Layer Hidden2 { get; }
    [ReLU] public partial Layer Act2 { get; }
    [Dense(8, Init = Init.Xavier)] public partial Layer Head { get; }
}

/// <summary>The same body with a new head for the two classes left out (Pullover, Coat); the body is frozen and takes
/// the pretrained weights, by name.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class FashionPair
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(256, Init = Init.He, Trainable = false)] public partial Layer Hidden1 { get; }
    [ReLU] public partial Layer Act1 { get; }
    [Dense(128, Init = Init.He, Trainable = false)] public partial Layer Hidden2 { get; }
    [ReLU] public partial Layer Act2 { get; }
    [Dense(2, Init = Init.Xavier)] public partial Layer Head { get; }
}

/// <summary>`--transfer`: pretrain on eight classes, then learn the other two from 10 and 100 labelled images per class:
/// a new head on the frozen pretrained body, the whole pretrained network fine-tuned, and the same network from scratch.</summary>
static class Transfer
{
    /// <summary>Pullover and Coat: the pair the other classes' features should help most with (they are confused with each
    /// other and with Shirt, which the pretrained model knows).</summary>
    static readonly int[] HeldOut = [2, 4];

    public static int Run(Dataset train, Dataset test, int seed, string? checkpointDirectory)
    {
        // The eight kept classes renumbered 0–7 in order, the two held out 0–1.
        int Kept(int c) => c - HeldOut.Count(h => h < c);
        var (eight, eightTest) = (Classes(train, c => !HeldOut.Contains(c), Kept), Classes(test, c => !HeldOut.Contains(c), Kept));
        var (pair, pairTest) = (Classes(train, HeldOut.Contains, c => Array.IndexOf(HeldOut, c)), Classes(test, HeldOut.Contains, c => Array.IndexOf(HeldOut, c)));
        var pretrained = new FashionEight(seed);
        Trainer.Fit(pretrained, new Adam(1e-3), eight, null, new TrainingOptions { Epochs = 5, BatchSize = 128, Seed = seed });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pretrained on the 8 classes other than Pullover and Coat ({eight.Count} images, 5 epochs): test accuracy {Metrics.Evaluate(pretrained, eightTest).Accuracy:F4}"));
        string path = Path.Combine(checkpointDirectory ?? Path.GetTempPath(), $"fashion-eight-{Environment.ProcessId}.safetensors");
        Checkpoint.Save(path, pretrained);
        Console.WriteLine("learning Pullover against Coat (test accuracy on their 2,000 test images, mean of 3 draws of the labelled images):");
        Console.WriteLine("labels per class   pretrained body frozen   pretrained, all fine-tuned   from scratch");
        foreach (int perClass in new[] { 10, 100 })
        {
            double transfer = 0, fineTuned = 0, scratch = 0;
            for (int draw = 0; draw < 3; draw++)
            {
                var few = Labelled(pair, perClass, seed + draw);
                var tuned = new FashionPair(seed + draw);
                var load = Checkpoint.LoadMatching(tuned, path, skipMismatched: true);
                if (load.Loaded.Count != 4) throw new InvalidOperationException($"expected the body's four tensors, loaded {string.Join(", ", load.Loaded)}");
                transfer += FitAndTest(tuned, few, pairTest, seed + draw) / 3;
                var whole = new FashionPair(seed + draw);
                Checkpoint.LoadMatching(whole, path, skipMismatched: true);
                whole.Unfreeze(nameof(FashionPair.Hidden1));
                whole.Unfreeze(nameof(FashionPair.Hidden2));
                fineTuned += FitAndTest(whole, few, pairTest, seed + draw) / 3;
                var fresh = new FashionPair(seed + draw);
                fresh.Unfreeze(nameof(FashionPair.Hidden1));
                fresh.Unfreeze(nameof(FashionPair.Hidden2));
                scratch += FitAndTest(fresh, few, pairTest, seed + draw) / 3;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{perClass,16}   {transfer,22:F4}   {fineTuned,26:F4}   {scratch,12:F4}"));
        }
        File.Delete(path);
        File.Delete(Checkpoint.OptimizerPath(path));
        return 0;
    }

    static double FitAndTest(INeuralNetwork network, Dataset few, Dataset test, int seed)
    {
        Trainer.Fit(network, new Adam(1e-3), few, null, new TrainingOptions { Epochs = 40, BatchSize = Math.Min(32, few.Count), Seed = seed });
        return Metrics.Evaluate(network, test).Accuracy;
    }

    /// <summary>The samples whose class passes <paramref name="keep"/>, relabelled by <paramref name="relabel"/>.</summary>
    static Dataset Classes(Dataset data, Func<int, bool> keep, Func<int, int> relabel)
    {
        var indices = Enumerable.Range(0, data.Count).Where(i => keep(data.Labels[i])).ToArray();
        var subset = data.Subset(indices);
        var labels = subset.Labels.Select(relabel).ToArray();
        return new Dataset(subset.Features, labels, [.. subset.SampleShape], labels.Max() + 1);
    }

    /// <summary><paramref name="perClass"/> images of each class, drawn with <paramref name="seed"/>.</summary>
    static Dataset Labelled(Dataset data, int perClass, int seed)
    {
        var random = new Random(seed);
        var indices = Enumerable.Range(0, data.ClassCount)
            .SelectMany(c => Enumerable.Range(0, data.Count).Where(i => data.Labels[i] == c).OrderBy(_ => random.Next()).Take(perClass))
            .ToArray();
        return data.Subset(indices);
    }
}
