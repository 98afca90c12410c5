using System.Globalization;
using System.Text;

namespace NetDsl.Training;

/// <summary>One hyperparameter's range and the scale it is sampled on.</summary>
public abstract record SearchRange(string Name, double Low, double High)
{
    /// <summary>Uniform on the linear scale: units, layers, dropout rates.</summary>
    public static SearchRange Linear(string name, double low, double high) => Check(name, low, high, false);

    /// <summary>Uniform in the exponent: learning rate 1e-4…1 spends as many trials in each decade.</summary>
    public static SearchRange Log(string name, double low, double high) => new LogRange(Check(name, low, high, true));

    /// <summary>β near 1 (momentum 0.9…0.999) sampled through 1 − β on a log scale, so 0.9–0.99 and 0.99–0.999 get
    /// as many trials each.</summary>
    public static SearchRange OneMinusLog(string name, double low, double high)
    {
        Check(name, low, high, false);
        if (high >= 1) throw new ArgumentOutOfRangeException(nameof(high), high, $"{name}: a β range must stay below 1.");
        return new OneMinusLogRange(new LinearRange(name, low, high));
    }

    /// <summary>A uniform sample on this range's scale.</summary>
    public double Sample(Rng random) => FromUnit(random.NextDouble());

    /// <summary><paramref name="points"/> evenly spaced values on this range's scale, ends included.</summary>
    public IEnumerable<double> Grid(int points) =>
        points == 1 ? [FromUnit(0.5)] : Enumerable.Range(0, points).Select(i => FromUnit(i / (double)(points - 1)));

    /// <summary>The range around <paramref name="center"/>, <paramref name="fraction"/> as wide on this scale, kept inside the original bounds.</summary>
    public SearchRange Narrow(double center, double fraction)
    {
        double c = ToUnit(center), half = fraction / 2;
        double from = Math.Max(0, c - half), to = Math.Min(1, c + half);
        double a = FromUnit(from), b = FromUnit(to);
        return this with { Low = Math.Min(a, b), High = Math.Max(a, b) };
    }

    /// <summary>Maps u in [0, 1] to a value.</summary>
    protected abstract double FromUnit(double unit);

    /// <summary>Maps a value back to [0, 1].</summary>
    protected abstract double ToUnit(double value);

    static LinearRange Check(string name, double low, double high, bool positive)
    {
        if (!(low < high) || (positive && low <= 0))
            throw new ArgumentOutOfRangeException(nameof(low), $"{name}: the range [{low}, {high}] needs low < high{(positive ? " and low > 0 for a log scale" : "")}.");
        return new LinearRange(name, low, high);
    }

    sealed record LinearRange(string Name, double Low, double High) : SearchRange(Name, Low, High)
    {
        protected override double FromUnit(double unit) => Low + (High - Low) * unit;
        protected override double ToUnit(double value) => (value - Low) / (High - Low);
    }

    sealed record LogRange(string Name, double Low, double High) : SearchRange(Name, Low, High)
    {
        public LogRange(LinearRange range) : this(range.Name, range.Low, range.High) { }
        protected override double FromUnit(double unit) => Math.Pow(10, Math.Log10(Low) + (Math.Log10(High) - Math.Log10(Low)) * unit);
        protected override double ToUnit(double value) => (Math.Log10(value) - Math.Log10(Low)) / (Math.Log10(High) - Math.Log10(Low));
    }

    sealed record OneMinusLogRange(string Name, double Low, double High) : SearchRange(Name, Low, High)
    {
        public OneMinusLogRange(LinearRange range) : this(range.Name, range.Low, range.High) { }
        // u = 0 gives Low (1 − β largest), u = 1 gives High.
        protected override double FromUnit(double unit) => 1 - Math.Pow(10, Math.Log10(1 - Low) + (Math.Log10(1 - High) - Math.Log10(1 - Low)) * unit);
        protected override double ToUnit(double value) => (Math.Log10(1 - value) - Math.Log10(1 - Low)) / (Math.Log10(1 - High) - Math.Log10(1 - Low));
    }
}

/// <summary>One evaluated combination.</summary>
public sealed record Trial(IReadOnlyDictionary<string, double> Values, double Score);

/// <summary>The trials, best first.</summary>
public sealed record SearchResult(IReadOnlyList<Trial> Trials)
{
    /// <summary>The best trial.</summary>
    public Trial Best => Trials[0];

    /// <summary>A table, one row per trial, best first.</summary>
    public string ToTable()
    {
        var names = Trials[0].Values.Keys.ToList();
        var text = new StringBuilder();
        text.AppendLine(string.Join("  ", names.Select(n => n.PadLeft(14)).Append("score".PadLeft(12))));
        foreach (var trial in Trials)
            text.AppendLine(string.Join("  ", names.Select(n => trial.Values[n].ToString("G6", CultureInfo.InvariantCulture).PadLeft(14))
                .Append(trial.Score.ToString("F6", CultureInfo.InvariantCulture).PadLeft(12))));
        return text.ToString();
    }
}

/// <summary>Grid, random and coarse-to-fine search over declared ranges. The evaluation returns a score where higher is
/// better (dev accuracy, or a negated loss); results are sorted and reproducible with the seed. With
/// <c>ranks</c> (the processes of an MPI job, every one making the same call) trial i runs on rank i mod size and
/// every rank receives the whole table.</summary>
public static class HyperparameterSearch
{
    /// <summary>Every combination of <paramref name="pointsPerRange"/> values per range.</summary>
    public static SearchResult Grid(IReadOnlyList<SearchRange> ranges, int pointsPerRange, Func<IReadOnlyDictionary<string, double>, double> evaluate,
        IDataParallelGroup? ranks = null)
    {
        if (pointsPerRange < 1) throw new ArgumentOutOfRangeException(nameof(pointsPerRange), pointsPerRange, "A grid needs at least one point per range.");
        IEnumerable<Dictionary<string, double>> combinations = [new Dictionary<string, double>()];
        foreach (var range in ranges)
            combinations = combinations.SelectMany(c => range.Grid(pointsPerRange).Select(v => new Dictionary<string, double>(c) { [range.Name] = v }));
        return Sorted(Run(combinations.ToList(), evaluate, ranks));
    }

    /// <summary><paramref name="trials"/> combinations drawn independently, each range on its own scale.</summary>
    public static SearchResult Random(IReadOnlyList<SearchRange> ranges, int trials, int seed, Func<IReadOnlyDictionary<string, double>, double> evaluate,
        IDataParallelGroup? ranks = null)
    {
        var random = new Rng((ulong)seed);
        return Sorted(Run(Enumerable.Range(0, trials).Select(_ => ranges.ToDictionary(r => r.Name, r => r.Sample(random))).ToList(), evaluate, ranks));
    }

    /// <summary>Random search in rounds; after round k every range narrows around the best trial so far to
    /// shrink^k of its original width (on its own scale).</summary>
    public static SearchResult CoarseToFine(IReadOnlyList<SearchRange> ranges, int trialsPerRound, int rounds, int seed,
        Func<IReadOnlyDictionary<string, double>, double> evaluate, double shrink = 0.5, IDataParallelGroup? ranks = null)
    {
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "Search at least one round.");
        var all = new List<Trial>();
        var current = ranges.ToList();
        for (int round = 0; round < rounds; round++)
        {
            all.AddRange(Random(current, trialsPerRound, seed + round, evaluate, ranks).Trials);
            var best = all.MaxBy(t => t.Score)!;
            // Windows are cut from the original ranges, so a window can move past the edge of the last one.
            current = ranges.Select(r => r.Narrow(best.Values[r.Name], Math.Pow(shrink, round + 1))).ToList();
        }
        return Sorted(all);
    }

    /// <summary>Scores every combination: all here, or this rank's share (i mod size) with the scores then gathered by
    /// a sum over the ranks, each trial's score coming from the one rank that ran it.</summary>
    static IEnumerable<Trial> Run(List<Dictionary<string, double>> combinations, Func<IReadOnlyDictionary<string, double>, double> evaluate,
        IDataParallelGroup? ranks)
    {
        if (ranks is null) return combinations.Select(c => new Trial(c, evaluate(c))).ToList();
        var scores = new double[combinations.Count];
        for (int i = ranks.Rank; i < combinations.Count; i += ranks.Size) scores[i] = evaluate(combinations[i]);
        ranks.SumAll(scores);
        return combinations.Select((c, i) => new Trial(c, scores[i]));
    }

    static SearchResult Sorted(IEnumerable<Trial> trials)
    {
        var list = trials.OrderByDescending(t => t.Score).ToList();
        return list.Count > 0 ? new SearchResult(list) : throw new ArgumentException("The search produced no trials.");
    }
}
