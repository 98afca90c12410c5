using NetDsl.Training;

namespace NetDsl.Tests;

public class SearchTests
{
    [Fact]
    public void Log_scale_sampling_spends_as_many_trials_in_each_decade()
    {
        var range = SearchRange.Log("learning_rate", 1e-4, 1);
        var random = new Rng(3);
        var samples = Enumerable.Range(0, 40_000).Select(_ => range.Sample(random)).ToArray();
        Assert.All(samples, v => Assert.InRange(v, 1e-4, 1));
        for (int decade = -4; decade < 0; decade++)
        {
            double fraction = samples.Count(v => v >= Math.Pow(10, decade) && v < Math.Pow(10, decade + 1)) / 40_000.0;
            Assert.InRange(fraction, 0.24, 0.26); // 1/4 each; σ ≈ 0.002
        }
    }

    [Fact]
    public void Beta_sampled_through_one_minus_beta_on_a_log_scale()
    {
        var range = SearchRange.OneMinusLog("beta", 0.9, 0.999);
        var random = new Rng(4);
        var samples = Enumerable.Range(0, 40_000).Select(_ => range.Sample(random)).ToArray();
        double below = samples.Count(v => v < 0.99) / 40_000.0;
        Assert.InRange(below, 0.48, 0.52); // 0.9–0.99 and 0.99–0.999 each get half
        Assert.Equal([0.9, 0.99, 0.999], range.Grid(3).Select(v => Math.Round(v, 9)));
    }

    [Fact]
    public void Grid_search_evaluates_every_combination_and_sorts_best_first()
    {
        var result = HyperparameterSearch.Grid(
            [SearchRange.Linear("units", 10, 30), SearchRange.Log("rate", 1e-3, 1e-1)], 3,
            values => -Math.Abs(values["units"] - 20) - Math.Abs(Math.Log10(values["rate"]) + 2));
        Assert.Equal(9, result.Trials.Count);
        Assert.Equal(20, result.Best.Values["units"], 12);
        Assert.Equal(0.01, result.Best.Values["rate"], 12);
        Assert.True(result.Trials.Zip(result.Trials.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.Contains("units", result.ToTable());
    }

    [Fact]
    public void Random_search_repeats_with_its_seed_and_coarse_to_fine_closes_in_on_the_optimum()
    {
        Func<IReadOnlyDictionary<string, double>, double> score = v => -Math.Pow(Math.Log10(v["rate"]) + 2.5, 2);
        SearchRange[] ranges = [SearchRange.Log("rate", 1e-5, 1)];
        var first = HyperparameterSearch.Random(ranges, 10, 7, score);
        var again = HyperparameterSearch.Random(ranges, 10, 7, score);
        Assert.Equal(first.Trials.Select(t => t.Values["rate"]), again.Trials.Select(t => t.Values["rate"]));
        var refined = HyperparameterSearch.CoarseToFine(ranges, 8, 4, 7, score);
        Assert.Equal(32, refined.Trials.Count);
        Assert.InRange(Math.Log10(refined.Best.Values["rate"]), -2.55, -2.45);
        Assert.True(refined.Best.Score >= first.Best.Score);
    }
}
