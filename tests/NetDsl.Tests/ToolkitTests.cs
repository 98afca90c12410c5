using NetDsl.Data;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

public class ToolkitTests
{
    // 100 samples: 70 of class 0, 20 of class 1, 10 of class 2; feature = sample index.
    static Dataset Imbalanced() =>
        new(Enumerable.Range(0, 100).Select(i => (float)i).ToArray(), Enumerable.Range(0, 100).Select(i => i < 70 ? 0 : i < 90 ? 1 : 2).ToArray(), [1], 3);

    static int[] Indices(Dataset d) => d.Features.Select(f => (int)f).ToArray();

    [Fact]
    public void A_stratified_80_20_train_test_split_keeps_class_proportions_without_overlap()
    {
        var (train, test) = Splits.TrainTest(Imbalanced(), 0.8, seed: 3);
        // 20% of each class by count: 14 of 70, 4 of 20, 2 of 10.
        Assert.Equal([14, 4, 2], Enumerable.Range(0, 3).Select(c => test.Labels.Count(l => l == c)));
        Assert.Equal([56, 16, 8], Enumerable.Range(0, 3).Select(c => train.Labels.Count(l => l == c)));
        Assert.Equal(Enumerable.Range(0, 100), Indices(train).Concat(Indices(test)).Order());
        Assert.Equal(Indices(test), Indices(Splits.TrainTest(Imbalanced(), 0.8, seed: 3).Test));
        Assert.NotEqual(Indices(test), Indices(Splits.TrainTest(Imbalanced(), 0.8, seed: 4).Test));
        Assert.Throws<ArgumentOutOfRangeException>(() => Splits.TrainTest(Imbalanced(), 1, seed: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Splits.TrainTest(Imbalanced(), 0, seed: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Splits.TrainTest(Imbalanced(), double.NaN, seed: 3));
    }

    [Fact]
    public void A_stratified_60_20_20_split_keeps_class_proportions_without_overlap()
    {
        var split = Splits.ByRatio(Imbalanced(), 0.6, 0.2, 0.2, seed: 1);
        Assert.Equal(60, split.Train.Count);
        Assert.Equal(20, split.Dev.Count);
        Assert.Equal(20, split.Test.Count);
        Assert.Equal([14, 4, 2], Enumerable.Range(0, 3).Select(c => split.Dev.Labels.Count(l => l == c)));
        Assert.Equal([14, 4, 2], Enumerable.Range(0, 3).Select(c => split.Test.Labels.Count(l => l == c)));
        Assert.Equal(Enumerable.Range(0, 100), Indices(split.Train).Concat(Indices(split.Dev)).Concat(Indices(split.Test)).Order());
        Assert.Equal(Indices(split.Dev), Indices(Splits.ByRatio(Imbalanced(), 0.6, 0.2, 0.2, seed: 1).Dev));
    }

    [Fact]
    public void Bad_ratios_and_empty_parts_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Splits.ByRatio(Imbalanced(), 0.6, 0.3, 0.2, 1));
        var error = Assert.Throws<ArgumentException>(() => Splits.ByRatio(Imbalanced(), 0.995, 0.0025, 0.0025, 1, stratified: false));
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void K_fold_holds_out_every_sample_once_with_stratified_folds()
    {
        var folds = Splits.KFold(Imbalanced(), 5, seed: 2);
        Assert.Equal(5, folds.Count);
        Assert.Equal(Enumerable.Range(0, 100), folds.SelectMany(f => Indices(f.Validation)).Order());
        foreach (var (train, validation) in folds)
        {
            Assert.Equal(20, validation.Count);
            Assert.Equal(80, train.Count);
            Assert.Empty(Indices(train).Intersect(Indices(validation)));
            Assert.Equal(14, validation.Labels.Count(l => l == 0));
        }
    }

    [Fact]
    public void Min_max_scaler_maps_the_training_range_to_zero_one_and_reuses_it()
    {
        var train = new Dataset([2, 5, 4, 5, 6, 5], [0, 1, 0], [2], 2);
        var scaler = MinMaxScaler.Fit(train);
        Assert.Equal([0f, 0f, 0.5f, 0f, 1f, 0f], scaler.Transform(train).Features);
        Assert.Equal([1.5f, 0f], scaler.Transform(new Dataset([8, 9], [0], [2], 2)).Features);
    }

    [Fact]
    public void Csv_reads_features_and_the_named_label_and_reports_the_bad_cell()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".csv");
        File.WriteAllLines(path, ["a,label,b", "1.5,1,2", "3,0,-4e1"]);
        var data = CsvReader.Read(path, "label");
        Assert.Equal([1.5f, 2f, 3f, -40f], data.Features);
        Assert.Equal([1, 0], data.Labels);
        File.WriteAllLines(path, ["a,label,b", "1.5,1,2", "3,0,x"]);
        var error = Assert.Throws<InvalidDataException>(() => CsvReader.Read(path, "label"));
        Assert.Contains("line 3, column 3", error.Message);
        Assert.Contains(path, error.Message);
        File.Delete(path);
    }

    [Theory]
    [InlineData(0.15, 0.16, 0.01, FitProblem.HighBias)]
    [InlineData(0.01, 0.11, 0.0, FitProblem.HighVariance)]
    [InlineData(0.15, 0.30, 0.01, FitProblem.HighBiasAndVariance)]
    [InlineData(0.02, 0.03, 0.01, FitProblem.None)]
    public void Bias_and_variance_follow_the_two_gaps(double train, double dev, double bayes, FitProblem expected)
    {
        var diagnosis = BiasVariance.Diagnose(train, dev, bayes);
        Assert.Equal(expected, diagnosis.Problem);
        Assert.Equal(train - bayes, diagnosis.AvoidableBias, 12);
        Assert.Equal(dev - train, diagnosis.Variance, 12);
    }

    [Fact]
    public void Early_stopping_ends_after_the_patience_runs_out_and_restores_the_best_epoch()
    {
        var network = new SmallClassifier(seed: 1);
        var random = new Rng(5);
        var labels = Enumerable.Range(0, 60).Select(_ => random.NextInt(3)).ToArray();
        var features = TestData.Uniform(60 * 6, 6);
        var train = new Dataset(features[..(40 * 6)], labels[..40], [6], 3);
        var dev = new Dataset(features[(40 * 6)..], labels[40..], [6], 3); // random labels: dev accuracy cannot keep improving
        var history = Trainer.Fit(network, new Adam(0.05), train, dev,
            new TrainingOptions { Epochs = 40, BatchSize = 8, RestoreBestWeights = true, EarlyStoppingPatience = 3 });
        Assert.True(history.StoppedEarly);
        Assert.Equal(history.BestEpoch + 3, history.Epochs.Count);
        Assert.True(history.Epochs.Skip(history.BestEpoch).All(e => e.DevAccuracy <= history.Epochs[history.BestEpoch - 1].DevAccuracy));
    }
}
