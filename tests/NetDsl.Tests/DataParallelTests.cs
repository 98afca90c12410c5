using NetDsl.Data;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

/// <summary>What data-parallel training needs from a network: a batch split into slices by sample gives, slice by slice,
/// the gradients of the whole batch, dropout masks included.</summary>
public class DataParallelTests
{
    /// <summary>dθ and the loss of <paramref name="batch"/> samples as one batch, and as the mean over slices
    /// [first, first + size) trained by separate instances (one per rank) whose masks are keyed from
    /// <paramref name="offsets"/>.</summary>
    static (float[] Whole, float[] Sliced, float WholeLoss, float SlicedLoss) Gradients(int batch, int[] starts, Func<int, long> offsets)
    {
        var x = TestData.Uniform(batch * 6, 11);
        var y = TestData.OneHot(batch, 3, 12);
        var whole = new SmallClassifier(seed: 4);
        float wholeLoss = whole.ComputeGradients(x, y);
        var sliced = new float[SmallClassifier.ParameterCount];
        float slicedLoss = 0;
        for (int r = 0; r < starts.Length; r++)
        {
            int first = starts[r], count = (r + 1 < starts.Length ? starts[r + 1] : batch) - first;
            var rank = new SmallClassifier(seed: 4) { DropoutSampleOffset = offsets(first) };
            float loss = rank.ComputeGradients(x.AsSpan(first * 6, count * 6), y.AsSpan(first * 3, count * 3));
            // Each slice's mean, weighted by its share of the batch, adds up to the batch's mean.
            slicedLoss += loss * count / batch;
            for (int i = 0; i < sliced.Length; i++) sliced[i] += rank.Gradients[i] * count / batch;
        }
        return (whole.Gradients.ToArray(), sliced, wholeLoss, slicedLoss);
    }

    [Fact]
    public void Slices_with_their_sample_offsets_draw_the_dropout_masks_of_the_whole_batch()
    {
        var (whole, sliced, wholeLoss, slicedLoss) = Gradients(10, [0, 4, 7], first => first);
        float scale = whole.Max(Math.Abs);
        Assert.Equal(wholeLoss, slicedLoss, 1e-5 * wholeLoss);
        for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - sliced[i]) <= 1e-5 * scale, $"dθ[{i}]: {whole[i]} whole, {sliced[i]} sliced");
    }

    static Dataset Data(int count, int[] shape, int classes, int seed)
    {
        int width = shape.Aggregate(1, (a, b) => a * b);
        var labels = Enumerable.Range(0, count).Select(i => (i * 7 + seed) % classes).ToArray();
        return new Dataset(TestData.Uniform(count * width, seed), labels, shape, classes);
    }

    /// <summary>θ after <paramref name="steps"/> steps of batch <paramref name="batch"/> (one epoch), trained by
    /// <paramref name="ranks"/> ranks, and the epoch's running loss.</summary>
    static (float[] Theta, double Loss) Train(Func<INeuralNetwork> create, Func<IOptimizer> optimizer, Dataset data, int batch, int ranks, bool synchronize)
    {
        var options = (IDataParallelGroup? group) => new TrainingOptions { Epochs = 1, BatchSize = batch, Seed = 5, DataParallel = group, SynchronizeBatchNorm = synchronize };
        if (ranks == 1)
        {
            var network = create();
            var history = Trainer.Fit(network, optimizer(), data, null, options(null));
            return (network.Parameters.ToArray(), history.Epochs[0].RunningLoss);
        }
        var results = ThreadGroup.Run(ranks, group =>
        {
            var network = create();
            var history = Trainer.Fit(network, optimizer(), data, null, options(group));
            return (network.Parameters.ToArray(), history.Epochs[0].RunningLoss);
        });
        Assert.All(results, r => Assert.Equal(results[0].Item1, r.Item1));
        return results[0];
    }

    static double RelativeDistance(float[] a, float[] b) =>
        Math.Sqrt(a.Zip(b, (x, y) => (double)(x - y) * (x - y)).Sum() / a.Sum(x => (double)x * x));

    public static TheoryData<string, string, int> Networks => new()
    {
        { "mlp-dropout", "sgd", 2 }, { "mlp-dropout", "adam", 2 }, { "cnn-syncbn", "sgd", 2 }, { "cnn-syncbn", "adam", 2 },
        // Slices of 6, 5 and 5 samples: the gradients must be weighted by slice size, not averaged.
        { "mlp-dropout", "adam", 3 }, { "cnn-syncbn", "sgd", 3 },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void Ranks_with_slices_of_the_batch_train_as_one_process_with_the_whole_batch(string network, string optimizer, int ranks)
    {
        bool cnn = network.StartsWith("cnn");
        var data = cnn ? Data(80, [2, 6, 6], 4, 3) : Data(80, [6], 3, 3);
        Func<INeuralNetwork> create = cnn ? () => new MixedCnn(seed: 2) : () => new SmallClassifier(seed: 2) { Regularization = Regularization.Ridge(0.05) };
        Func<IOptimizer> step = optimizer == "sgd" ? () => new Sgd(0.1) : () => new Adam(0.01);
        var one = Train(create, step, data, 16, ranks: 1, synchronize: false);
        var two = Train(create, step, data, 16, ranks, synchronize: true);
        var start = create().Parameters.ToArray();
        Assert.True(RelativeDistance(one.Theta, start) > 1e-3, "θ should have moved");
        Assert.True(RelativeDistance(two.Theta, one.Theta) < 1e-5, $"θ differs by {RelativeDistance(two.Theta, one.Theta):E2} relative");
        Assert.Equal(one.Loss, two.Loss, 1e-5 * one.Loss);
    }

    [Fact]
    public void A_search_spread_over_ranks_runs_each_trial_once_and_gives_every_rank_the_whole_table()
    {
        SearchRange[] ranges = [SearchRange.Log("learning_rate", 1e-4, 1e-1), SearchRange.Linear("dropout", 0, 0.5)];
        static double Score(IReadOnlyDictionary<string, double> v) => -Math.Abs(Math.Log10(v["learning_rate"]) + 2) - v["dropout"];
        var alone = HyperparameterSearch.Random(ranges, 7, seed: 9, Score);
        int evaluations = 0;
        var tables = ThreadGroup.Run(3, group => HyperparameterSearch.Random(ranges, 7, seed: 9, v =>
        {
            Interlocked.Increment(ref evaluations);
            return Score(v);
        }, group).ToTable());
        Assert.Equal(7, evaluations);
        Assert.All(tables, table => Assert.Equal(alone.ToTable(), table));
    }

    [Fact]
    public void Every_rank_starts_from_rank_0s_weights_statistics_and_optimizer_state()
    {
        var data = Data(48, [5], 4, 6);
        var warmUp = TestData.Uniform(8 * 5, 21);
        var warmTargets = TestData.OneHot(8, 4, 22);
        // Rank 0's state: spread running statistics and an Adam that has taken two steps (its moments and step count).
        (DenseNorm, Adam) Rank0()
        {
            var network = new DenseNorm(seed: 2).WithSpreadStatistics();
            var adam = new Adam(0.01);
            for (int i = 0; i < 2; i++) network.TrainStep(warmUp, warmTargets, adam);
            return (network, adam);
        }
        TrainingOptions Options(IDataParallelGroup? group) => new() { Epochs = 1, BatchSize = 16, Seed = 5, DataParallel = group, SynchronizeBatchNorm = true };
        var (alone, aloneAdam) = Rank0();
        Trainer.Fit(alone, aloneAdam, data, null, Options(null));
        var results = ThreadGroup.Run(2, group =>
        {
            // Rank 1 starts elsewhere: other weights, default statistics, a fresh optimizer.
            var (network, adam) = group.Rank == 0 ? Rank0() : (new DenseNorm(seed: 9), new Adam(0.01));
            Trainer.Fit(network, adam, data, null, Options(group));
            return (Theta: network.Parameters.ToArray(), Statistics: network.RunningStatistics.ToArray(), Steps: adam.Steps);
        });
        foreach (var rank in results)
        {
            Assert.True(RelativeDistance(rank.Theta, alone.Parameters.ToArray()) < 1e-5);
            Assert.True(RelativeDistance(rank.Statistics, alone.RunningStatistics.ToArray()) < 1e-5);
            Assert.Equal(aloneAdam.Steps, rank.Steps);
        }
    }

    [Fact]
    public void Batchnorm_over_each_ranks_slice_is_not_the_whole_batchs()
    {
        var data = Data(80, [2, 6, 6], 4, 3);
        var one = Train(() => new MixedCnn(seed: 2), () => new Sgd(0.1), data, 16, ranks: 1, synchronize: false);
        var perRank = Train(() => new MixedCnn(seed: 2), () => new Sgd(0.1), data, 16, ranks: 2, synchronize: false);
        Assert.True(RelativeDistance(perRank.Theta, one.Theta) > 1e-4);
    }

    [Fact]
    public void Without_the_offsets_every_slice_repeats_the_first_rows_masks()
    {
        var (whole, sliced, _, _) = Gradients(10, [0, 4, 7], _ => 0);
        float scale = whole.Max(Math.Abs);
        Assert.Contains(Enumerable.Range(0, whole.Length), i => Math.Abs(whole[i] - sliced[i]) > 1e-3 * scale);
    }
}
