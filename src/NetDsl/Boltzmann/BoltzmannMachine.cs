using NetDsl.Kernels;

namespace NetDsl.Boltzmann;

/// <summary>Hyperparameters of contrastive-divergence training, with the defaults of Hinton's "A Practical Guide to
/// Training Restricted Boltzmann Machines" (UTML TR 2010-003): learning rate 0.1 for Bernoulli units (section 4;
/// 0.001 suits Gaussian visible units, section 13.2), momentum 0.5 for the first 5 epochs and 0.9 after (section 9),
/// L2 weight cost 0.0001 on the weights only (section 10), CD-1 (section 3).</summary>
public sealed record BoltzmannTraining
{
    /// <summary>Step size on the averaged statistics of a mini-batch.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Momentum in the first <see cref="MomentumSwitchEpoch"/> epochs.</summary>
    public double InitialMomentum { get; init; } = 0.5;

    /// <summary>Momentum after them.</summary>
    public double FinalMomentum { get; init; } = 0.9;

    /// <summary>The epoch (counted from 1) from which <see cref="FinalMomentum"/> applies.</summary>
    public int MomentumSwitchEpoch { get; init; } = 6;

    /// <summary>L2 weight cost on the weights (not the biases).</summary>
    public double WeightCost { get; init; } = 0.0001;

    /// <summary>Gibbs steps of the negative phase (the k of CD-k).</summary>
    public int Steps { get; init; } = 1;

    /// <summary>Persistent contrastive divergence (Tieleman 2008): the negative phase continues chains kept from one
    /// update to the next instead of starting at the data.</summary>
    public bool Persistent { get; init; }

    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Samples per update (the guide's 10 to 100).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Seeds the sampling and the mini-batch order.</summary>
    public int Seed { get; init; }
}

/// <summary>A restricted Boltzmann machine: visible units v (Bernoulli or Gaussian with unit variance), binary hidden
/// units h, weights W (hidden × visible), visible biases b, hidden biases c. Energy E(v, h) = −bᵀv − cᵀh − hᵀWv for
/// Bernoulli visible units (½‖v − b‖² − cᵀh − hᵀWv for Gaussian ones); p(h_j = 1 | v) = σ(c_j + W_j·v) and
/// p(v_i = 1 | h) = σ(b_i + Wᵀ_i·h). θ is one vector, [W, b, c]. Generated <c>[BoltzmannMachine]</c> classes derive
/// from it.</summary>
public abstract class BoltzmannMachine
{
    readonly float[] parameters, velocity;
    readonly ParameterTensor[] tensors;
    readonly Rng random;
    float[] chains = [];

    /// <summary>Creates the machine with weights drawn from N(0, 0.01²) and zero biases (the guide's section 8).</summary>
    protected BoltzmannMachine(string name, int visible, int hidden, UnitKind visibleUnits, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(visible, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hidden, 1);
        (Name, VisibleCount, HiddenCount, VisibleUnits) = (name, visible, hidden, visibleUnits);
        parameters = new float[hidden * visible + visible + hidden];
        velocity = new float[parameters.Length];
        tensors =
        [
            new ParameterTensor("weight", name, 0, [hidden, visible], WeightDecay: true),
            new ParameterTensor("visible_bias", name, hidden * visible, [visible], WeightDecay: false),
            new ParameterTensor("hidden_bias", name, hidden * visible + visible, [hidden], WeightDecay: false),
        ];
        random = new Rng((ulong)seed);
        for (int i = 0; i < hidden * visible; i++) parameters[i] = (float)(0.01 * random.NextGaussian());
    }

    /// <summary>The declaring class's name.</summary>
    public string Name { get; }

    /// <summary>Visible units: values per sample.</summary>
    public int VisibleCount { get; }

    /// <summary>Hidden units.</summary>
    public int HiddenCount { get; }

    /// <summary>The visible units' distribution.</summary>
    public UnitKind VisibleUnits { get; }

    /// <summary>θ = [W (hidden × visible, row-major), b (visible), c (hidden)].</summary>
    public Span<float> Parameters => parameters;

    /// <summary>W, one row of <see cref="VisibleCount"/> per hidden unit.</summary>
    public Span<float> Weights => parameters.AsSpan(0, HiddenCount * VisibleCount);

    /// <summary>b.</summary>
    public Span<float> VisibleBias => parameters.AsSpan(HiddenCount * VisibleCount, VisibleCount);

    /// <summary>c.</summary>
    public Span<float> HiddenBias => parameters.AsSpan(HiddenCount * VisibleCount + VisibleCount, HiddenCount);

    /// <summary>The named tensors of θ (<c>weight</c>, <c>visible_bias</c>, <c>hidden_bias</c>).</summary>
    public IReadOnlyList<ParameterTensor> ParameterTensors => tensors;

    int BatchOf(int length, int width, string parameter) => Shapes.BatchSize(length, width, $"({width})", parameter);

    /// <summary>p(h = 1 | v) for each sample of <paramref name="visible"/> into <paramref name="hidden"/>.</summary>
    public void HiddenProbabilities(ReadOnlySpan<float> visible, Span<float> hidden)
    {
        HiddenInputs(visible, hidden);
        for (int i = 0; i < hidden.Length; i++) hidden[i] = Sigmoid(hidden[i]);
    }

    /// <summary>c + W·v for each sample of <paramref name="visible"/> into <paramref name="hidden"/>: what p(h | v) and the
    /// free energy are functions of.</summary>
    void HiddenInputs(ReadOnlySpan<float> visible, Span<float> hidden)
    {
        int batch = BatchOf(visible.Length, VisibleCount, nameof(visible));
        Shapes.RequireBatchLength(hidden.Length, batch, HiddenCount, nameof(hidden));
        var store = new StoreEpilogue<float>(hidden, HiddenCount);
        Gemm.Multiply(visible, transposeA: false, Weights, transposeB: true, batch, HiddenCount, VisibleCount, ref store);
        var c = HiddenBias;
        for (int s = 0; s < batch; s++)
        {
            var row = hidden.Slice(s * HiddenCount, HiddenCount);
            for (int j = 0; j < HiddenCount; j++) row[j] += c[j];
        }
    }

    /// <summary>E[v | h] for each sample of <paramref name="hidden"/>: p(v = 1 | h) for Bernoulli units, the mean
    /// b + Wᵀh for Gaussian ones.</summary>
    public void VisibleMeans(ReadOnlySpan<float> hidden, Span<float> visible)
    {
        int batch = BatchOf(hidden.Length, HiddenCount, nameof(hidden));
        Shapes.RequireBatchLength(visible.Length, batch, VisibleCount, nameof(visible));
        var store = new StoreEpilogue<float>(visible, VisibleCount);
        Gemm.Multiply(hidden, transposeA: false, Weights, transposeB: false, batch, VisibleCount, HiddenCount, ref store);
        var b = VisibleBias;
        bool bernoulli = VisibleUnits == UnitKind.Bernoulli;
        for (int s = 0; s < batch; s++)
        {
            var row = visible.Slice(s * VisibleCount, VisibleCount);
            for (int i = 0; i < VisibleCount; i++) row[i] = bernoulli ? Sigmoid(row[i] + b[i]) : row[i] + b[i];
        }
    }

    /// <summary>Draws binary states from probabilities, in place.</summary>
    void SampleBinary(Span<float> probabilities)
    {
        for (int i = 0; i < probabilities.Length; i++) probabilities[i] = random.NextDouble() < probabilities[i] ? 1 : 0;
    }

    /// <summary>Draws visible states from their means, in place: binary for Bernoulli units, mean + N(0, 1) for Gaussian.</summary>
    void SampleVisible(Span<float> means)
    {
        if (VisibleUnits == UnitKind.Bernoulli) SampleBinary(means);
        else for (int i = 0; i < means.Length; i++) means[i] += (float)random.NextGaussian();
    }

    /// <summary>F(v) = −log Σ_h exp(−E(v, h)) for each sample: −bᵀv − Σ_j softplus(c_j + W_j·v) (Bernoulli visible) or
    /// ½‖v − b‖² − Σ_j softplus(c_j + W_j·v) (Gaussian visible).</summary>
    public void FreeEnergies(ReadOnlySpan<float> visible, Span<double> energies)
    {
        int batch = BatchOf(visible.Length, VisibleCount, nameof(visible));
        if (energies.Length < batch) throw new ArgumentException($"energies holds {energies.Length} values but the batch has {batch} samples.", nameof(energies));
        var inputs = new float[batch * HiddenCount];
        HiddenInputs(visible, inputs);
        var b = VisibleBias;
        for (int s = 0; s < batch; s++)
        {
            var v = visible.Slice(s * VisibleCount, VisibleCount);
            double energy = 0;
            for (int i = 0; i < VisibleCount; i++)
                energy += VisibleUnits == UnitKind.Bernoulli ? -(double)b[i] * v[i] : 0.5 * ((double)v[i] - b[i]) * ((double)v[i] - b[i]);
            for (int j = 0; j < HiddenCount; j++) energy -= Softplus(inputs[s * HiddenCount + j]);
            energies[s] = energy;
        }
    }

    /// <summary>log Z = log Σ_v exp(−F(v)) by enumerating every binary visible state: exact, for Bernoulli machines of at
    /// most 24 visible units.</summary>
    public double ExactLogPartition()
    {
        if (VisibleUnits != UnitKind.Bernoulli || VisibleCount > 24)
            throw new InvalidOperationException($"{Name}: the exact partition function enumerates 2^visible binary states; it needs Bernoulli units and at most 24 of them, not {VisibleCount} {VisibleUnits}.");
        int states = 1 << VisibleCount;
        var all = new float[states * VisibleCount];
        for (int state = 0; state < states; state++)
            for (int i = 0; i < VisibleCount; i++) all[state * VisibleCount + i] = (state >> i) & 1;
        var energies = new double[states];
        FreeEnergies(all, energies);
        double lowest = energies.Min();
        return -lowest + Math.Log(energies.Sum(f => Math.Exp(lowest - f)));
    }

    /// <summary>The mean squared difference between the data and its reconstruction E[v | h] from p(h | v), the usual
    /// (if rough) progress measure of CD training (the guide's section 5).</summary>
    public double ReconstructionError(ReadOnlySpan<float> data)
    {
        int batch = BatchOf(data.Length, VisibleCount, nameof(data));
        var hidden = new float[batch * HiddenCount];
        var reconstruction = new float[data.Length];
        HiddenProbabilities(data, hidden);
        VisibleMeans(hidden, reconstruction);
        double sum = 0;
        for (int i = 0; i < data.Length; i++) sum += ((double)data[i] - reconstruction[i]) * ((double)data[i] - reconstruction[i]);
        return sum / batch;
    }

    /// <summary>Runs <paramref name="steps"/> steps of block Gibbs sampling v → h → v on each sample of
    /// <paramref name="visible"/>, in place; the last step leaves E[v | h] (probabilities rather than a noisy sample).</summary>
    public void Gibbs(Span<float> visible, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int batch = BatchOf(visible.Length, VisibleCount, nameof(visible));
        var hidden = new float[batch * HiddenCount];
        for (int step = 0; step < steps; step++)
        {
            HiddenProbabilities(visible, hidden);
            SampleBinary(hidden);
            VisibleMeans(hidden, visible);
            if (step + 1 < steps) SampleVisible(visible);
        }
    }

    /// <summary><paramref name="count"/> samples after <paramref name="steps"/> Gibbs steps from random visible states.</summary>
    public float[] Sample(int count, int steps)
    {
        var visible = new float[count * VisibleCount];
        for (int i = 0; i < visible.Length; i++)
            visible[i] = VisibleUnits == UnitKind.Bernoulli ? (random.NextDouble() < 0.5 ? 1 : 0) : (float)random.NextGaussian();
        Gibbs(visible, steps);
        return visible;
    }

    /// <summary>An estimate of the gradient of the mean log-likelihood of <paramref name="batch"/>, into
    /// <paramref name="gradient"/> (θ's layout): the data statistics ⟨v hᵀ⟩ with p(h | v), minus the model's, taken after
    /// <paramref name="steps"/> Gibbs steps from the data (CD-k) or, when <paramref name="persistent"/>, from chains kept
    /// across calls (one per sample of the batch; PCD). Large k on persistent chains approaches the exact gradient (CD-∞).</summary>
    public void EstimateGradient(ReadOnlySpan<float> batch, int steps, bool persistent, Span<float> gradient)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int n = BatchOf(batch.Length, VisibleCount, nameof(batch));
        Shapes.RequireLength(gradient.Length, parameters.Length, $"({parameters.Length})", nameof(gradient));
        var positiveHidden = new float[n * HiddenCount];
        HiddenProbabilities(batch, positiveHidden);

        float[] negative;
        if (persistent)
        {
            // The chains start at the first batch the machine sees and are never reset to the data.
            if (chains.Length != batch.Length) chains = batch.ToArray();
            negative = chains;
        }
        else negative = batch.ToArray();
        var hidden = new float[n * HiddenCount];
        // From the data, the first hidden states are the positive phase's, sampled.
        if (!persistent) positiveHidden.CopyTo(hidden, 0);
        else HiddenProbabilities(negative, hidden);
        for (int step = 0; step < steps; step++)
        {
            SampleBinary(hidden);
            VisibleMeans(hidden, negative);
            // Persistent chains must stay samples of the model; CD's final reconstruction keeps its probabilities.
            if (persistent || step + 1 < steps) SampleVisible(negative);
            HiddenProbabilities(negative, hidden);
        }

        // ΔW = (Hᵀ₊V₊ − Hᵀ₋V₋) / n, Δb = mean(v₊ − v₋), Δc = mean(h₊ − h₋).
        var weights = gradient[..(HiddenCount * VisibleCount)];
        var store = new StoreEpilogue<float>(weights, VisibleCount);
        Gemm.Multiply(positiveHidden, transposeA: true, batch, transposeB: false, HiddenCount, VisibleCount, n, ref store);
        var negativeWeights = new float[HiddenCount * VisibleCount];
        var negativeStore = new StoreEpilogue<float>(negativeWeights, VisibleCount);
        Gemm.Multiply(hidden, transposeA: true, negative, transposeB: false, HiddenCount, VisibleCount, n, ref negativeStore);
        for (int i = 0; i < weights.Length; i++) weights[i] = (weights[i] - negativeWeights[i]) / n;
        var visibleGradient = gradient.Slice(HiddenCount * VisibleCount, VisibleCount);
        var hiddenGradient = gradient.Slice(HiddenCount * VisibleCount + VisibleCount, HiddenCount);
        visibleGradient.Clear();
        hiddenGradient.Clear();
        for (int s = 0; s < n; s++)
        {
            for (int i = 0; i < VisibleCount; i++) visibleGradient[i] += (batch[s * VisibleCount + i] - negative[s * VisibleCount + i]) / n;
            for (int j = 0; j < HiddenCount; j++) hiddenGradient[j] += (positiveHidden[s * HiddenCount + j] - hidden[s * HiddenCount + j]) / n;
        }
    }

    /// <summary>One update from a mini-batch: the gradient estimate (CD-k or PCD), less the weight cost on W, added to the
    /// velocity, which moves θ (ascent on the log-likelihood). Returns the batch's reconstruction error before it.</summary>
    public double Update(ReadOnlySpan<float> batch, BoltzmannTraining options, double momentum)
    {
        double error = ReconstructionError(batch);
        var gradient = new float[parameters.Length];
        EstimateGradient(batch, options.Steps, options.Persistent, gradient);
        int weights = HiddenCount * VisibleCount;
        for (int i = 0; i < parameters.Length; i++)
        {
            double step = gradient[i] - (i < weights ? options.WeightCost * parameters[i] : 0);
            velocity[i] = (float)(momentum * velocity[i] + options.LearningRate * step);
            parameters[i] += velocity[i];
        }
        return error;
    }

    /// <summary>Trains on <paramref name="data"/> (samples of <see cref="VisibleCount"/> values) and returns each epoch's mean
    /// reconstruction error.</summary>
    public IReadOnlyList<double> Fit(ReadOnlySpan<float> data, BoltzmannTraining options)
    {
        int count = BatchOf(data.Length, VisibleCount, nameof(data));
        var order = Enumerable.Range(0, count).ToArray();
        var shuffle = new Rng((ulong)options.Seed ^ 0x5DEECE66DUL);
        var batch = new float[Math.Min(options.BatchSize, count) * VisibleCount];
        var errors = new List<double>();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            for (int i = count - 1; i > 0; i--)
            {
                int j = shuffle.NextInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            double momentum = epoch < options.MomentumSwitchEpoch ? options.InitialMomentum : options.FinalMomentum, error = 0;
            int batches = 0;
            // Whole batches only: PCD keeps one chain per sample of a batch.
            for (int start = 0; start + batch.Length / VisibleCount <= count; start += batch.Length / VisibleCount, batches++)
            {
                for (int s = 0; s < batch.Length / VisibleCount; s++)
                    data.Slice(order[start + s] * VisibleCount, VisibleCount).CopyTo(batch.AsSpan(s * VisibleCount));
                error += Update(batch, options, momentum);
            }
            errors.Add(error / batches);
        }
        return errors;
    }

    static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    static double Softplus(double x) => x > 30 ? x : Math.Log(1 + Math.Exp(x));
}
