namespace NetDsl.Training;

/// <summary>The learning rate for each epoch, from the initial rate α₀. Epochs count from 0, so the first epoch trains
/// at α₀ (as PyTorch's schedulers do).</summary>
public abstract record LearningRateSchedule
{
    /// <summary>The rate for epoch <paramref name="epoch"/> (0-based).</summary>
    public abstract double RateAt(int epoch, double initialRate);

    /// <summary>α₀ / (1 + decay·epoch).</summary>
    public static LearningRateSchedule InverseTime(double decay) => new InverseTimeDecay(Positive(decay, nameof(decay), allowZero: true));

    /// <summary>α₀ · r^epoch, for example r = 0.95.</summary>
    public static LearningRateSchedule Exponential(double rate) => new ExponentialDecay(Fraction(rate, nameof(rate)));

    /// <summary>α₀ · k / √(epoch + 1).</summary>
    public static LearningRateSchedule InverseSquareRoot(double k = 1) => new InverseSquareRootDecay(Positive(k, nameof(k)));

    /// <summary>α₀ · factor^⌊epoch / step⌋: the rate drops by <paramref name="factor"/> every <paramref name="step"/> epochs.</summary>
    public static LearningRateSchedule Staircase(int step, double factor) =>
        new StaircaseDecay(step > 0 ? step : throw new ArgumentOutOfRangeException(nameof(step), step, "The step must be at least one epoch."),
            Fraction(factor, nameof(factor)));

    /// <summary>Half a cosine from α₀ down to <paramref name="minimum"/> over <paramref name="epochs"/> epochs (SGDR without restarts).</summary>
    public static LearningRateSchedule Cosine(int epochs, double minimum = 0) =>
        new CosineDecay(epochs > 0 ? epochs : throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "The schedule needs at least one epoch."),
            Positive(minimum, nameof(minimum), allowZero: true));

    static double Positive(double value, string name, bool allowZero = false) =>
        (allowZero ? value >= 0 : value > 0) && double.IsFinite(value)
            ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number {(allowZero ? "≥" : ">")} 0.");

    static double Fraction(double value, string name) =>
        value is > 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in (0, 1].");

    sealed record InverseTimeDecay(double Decay) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate) => initialRate / (1 + Decay * epoch);
    }

    sealed record ExponentialDecay(double Rate) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate) => initialRate * Math.Pow(Rate, epoch);
    }

    sealed record InverseSquareRootDecay(double K) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate) => initialRate * K / Math.Sqrt(epoch + 1);
    }

    sealed record StaircaseDecay(int Step, double Factor) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate) => initialRate * Math.Pow(Factor, epoch / Step);
    }

    sealed record CosineDecay(int Epochs, double Minimum) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate) =>
            Minimum + (initialRate - Minimum) * (1 + Math.Cos(Math.PI * Math.Min(epoch, Epochs) / Epochs)) / 2;
    }
}
