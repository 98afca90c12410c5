using NetDsl.Boltzmann;

namespace NetDsl.Tests;

/// <summary>Restricted Boltzmann machines against independent references on machines small enough to enumerate: the
/// free energy by hand, log Z over every joint state (v, h), the exact log-likelihood gradient against the long-chain
/// (CD-∞) estimate within sampling error, and CD training raising the exact log-likelihood.</summary>
public class BoltzmannTests
{
    sealed class Tiny(int visible, int hidden, UnitKind units = UnitKind.Bernoulli, int seed = 0)
        : BoltzmannMachine("Tiny", visible, hidden, units, seed);

    static Tiny WithWeights(int visible, int hidden, int seed, double scale = 1)
    {
        var machine = new Tiny(visible, hidden, seed: seed);
        var random = new Random(seed);
        var theta = machine.Parameters;
        for (int i = 0; i < theta.Length; i++) theta[i] = (float)(scale * (random.NextDouble() * 2 - 1));
        return machine;
    }

    static float[] Binary(int count, int width, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count * width).Select(_ => random.NextDouble() < 0.4 ? 1f : 0f).ToArray();
    }

    /// <summary>E(v, h) written out from the definition, for the references below.</summary>
    static double Energy(Tiny m, float[] v, float[] h)
    {
        double e = 0;
        for (int i = 0; i < m.VisibleCount; i++) e -= m.VisibleBias[i] * v[i];
        for (int j = 0; j < m.HiddenCount; j++)
        {
            e -= m.HiddenBias[j] * h[j];
            for (int i = 0; i < m.VisibleCount; i++) e -= h[j] * m.Weights[j * m.VisibleCount + i] * v[i];
        }
        return e;
    }

    static float[] State(int bits, int width) => Enumerable.Range(0, width).Select(i => (float)((bits >> i) & 1)).ToArray();

    [Fact]
    public void The_free_energy_is_the_hand_computed_one_for_both_unit_kinds()
    {
        foreach (var units in new[] { UnitKind.Bernoulli, UnitKind.Gaussian })
        {
            var m = new Tiny(2, 1, units);
            float[] theta = [0.5f, -1f, 0.2f, 0.1f, 0.3f];
            theta.CopyTo(m.Parameters);
            var energies = new double[1];
            m.FreeEnergies([1f, 0f], energies);
            // The hidden unit's input: c + W·v = 0.3 + 0.5.
            double softplus = Math.Log(1 + Math.Exp(0.8));
            double expected = units == UnitKind.Bernoulli ? -(0.2 * 1 + 0.1 * 0) - softplus : 0.5 * ((1 - 0.2) * (1 - 0.2) + 0.1 * 0.1) - softplus;
            Assert.Equal(expected, energies[0], 6);
        }
    }

    [Fact]
    public void The_partition_function_equals_the_sum_over_every_joint_state()
    {
        var m = WithWeights(6, 3, seed: 1, scale: 1.5);
        double z = 0;
        for (int v = 0; v < 1 << 6; v++)
            for (int h = 0; h < 1 << 3; h++) z += Math.Exp(-Energy(m, State(v, 6), State(h, 3)));
        Assert.Equal(Math.Log(z), m.ExactLogPartition(), 5);
    }

    /// <summary>∂ mean log p(v)/∂θ by enumeration: ⟨p(h|v)vᵀ⟩ over the data minus Σ_v p(v)·p(h|v)vᵀ over every state.</summary>
    static double[] ExactGradient(Tiny m, float[] data)
    {
        int V = m.VisibleCount, H = m.HiddenCount, n = data.Length / V;
        var gradient = new double[m.Parameters.Length];
        void Add(float[] v, double weight)
        {
            for (int j = 0; j < H; j++)
            {
                double input = m.HiddenBias[j];
                for (int i = 0; i < V; i++) input += m.Weights[j * V + i] * v[i];
                double p = 1 / (1 + Math.Exp(-input));
                for (int i = 0; i < V; i++) gradient[j * V + i] += weight * p * v[i];
                gradient[H * V + V + j] += weight * p;
            }
            for (int i = 0; i < V; i++) gradient[H * V + i] += weight * v[i];
        }
        for (int s = 0; s < n; s++) Add(data[(s * V)..((s + 1) * V)], 1.0 / n);
        double logZ = m.ExactLogPartition();
        var energies = new double[1];
        for (int state = 0; state < 1 << V; state++)
        {
            var v = State(state, V);
            m.FreeEnergies(v, energies);
            Add(v, -Math.Exp(-energies[0] - logZ));
        }
        return gradient;
    }

    [Fact]
    public void Long_persistent_chains_estimate_the_exact_gradient_within_sampling_error()
    {
        var m = WithWeights(5, 3, seed: 2, scale: 1.2);
        var data = Binary(20, 5, seed: 3);
        var exact = ExactGradient(m, data);
        // 4,000 chains (the data repeated) run 300 Gibbs steps: the model statistics' sampling error is about
        // 0.5/√4000 ≈ 0.008 per entry; the bound below is five of those.
        var replicated = Enumerable.Repeat(data, 200).SelectMany(d => d).ToArray();
        var estimate = new float[m.Parameters.Length];
        m.EstimateGradient(replicated, steps: 300, persistent: true, estimate);
        for (int i = 0; i < exact.Length; i++)
            Assert.True(Math.Abs(exact[i] - estimate[i]) < 0.04, $"θ[{i}]: exact {exact[i]:F4}, CD-∞ estimate {estimate[i]:F4}");
        // The exact gradient is far from zero, so the comparison means something.
        Assert.True(exact.Max(Math.Abs) > 0.1, $"largest exact entry {exact.Max(Math.Abs)}");
    }

    [Fact]
    public void Training_with_CD_and_PCD_raises_the_exact_log_likelihood()
    {
        // Two prototypes with a little noise: a machine with three hidden units can model them.
        var random = new Random(4);
        float[][] prototypes = [[1, 1, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 1, 1, 0, 1]];
        var data = Enumerable.Range(0, 200).SelectMany(s => prototypes[s % 2].Select(p => random.NextDouble() < 0.05 ? 1 - p : p)).ToArray();
        foreach (bool persistent in new[] { false, true })
        {
            var m = new Tiny(8, 3, seed: 5);
            double LogLikelihood()
            {
                var energies = new double[200];
                m.FreeEnergies(data, energies);
                return -energies.Average() - m.ExactLogPartition();
            }
            double before = LogLikelihood();
            var errors = m.Fit(data, new BoltzmannTraining { Epochs = 30, BatchSize = 20, Persistent = persistent, LearningRate = persistent ? 0.05 : 0.1, FinalMomentum = persistent ? 0.5 : 0.9, Seed = 6 });
            double after = LogLikelihood();
            Assert.True(after > before + 1.5, $"{(persistent ? "PCD" : "CD-1")}: log-likelihood {before:F3} → {after:F3}");
            Assert.True(errors[^1] < errors[0]);
        }
    }
}

/// <summary>Greedy layer-wise pretraining copies each hidden Dense layer's RBM into the network.</summary>
public class PretrainTests
{
    [Fact]
    public void Each_hidden_layer_takes_the_weights_and_hidden_biases_of_its_machine_trained_on_the_layer_below()
    {
        var network = new SmallClassifier(seed: 1);
        var data = TestData.Uniform(60 * 6, 3, 0, 1);
        var options = new BoltzmannTraining { Epochs = 3, BatchSize = 20, Seed = 4 };
        var before = network.Parameters.ToArray();
        var layers = Pretrain.GreedyLayerwise(network, data, options);
        Assert.Equal(["Hidden1", "Hidden2"], layers.Select(l => l.Layer));
        // The first machine, trained again alone with the same seed, has the same weights as the network's first layer.
        var tensors = ((INeuralNetwork)network).ParameterTensors;
        var first = tensors.Single(t => t.Name == "Hidden1.weight");
        var machine = new Again(6, 37, options.Seed);
        machine.Fit(data, options);
        Assert.Equal(machine.Weights.ToArray(), network.Parameters.Slice(first.Offset, first.Length).ToArray());
        Assert.Equal(machine.HiddenBias.ToArray(), network.Parameters.Slice(tensors.Single(t => t.Name == "Hidden1.bias").Offset, 37).ToArray());
        // The output layer is left for fine-tuning.
        var logits = tensors.Single(t => t.Name == "Logits.weight");
        Assert.Equal(before.AsSpan(logits.Offset, logits.Length).ToArray(), network.Parameters.Slice(logits.Offset, logits.Length).ToArray());
    }

    sealed class Again(int visible, int hidden, int seed) : BoltzmannMachine("Hidden1", visible, hidden, UnitKind.Bernoulli, seed);
}
