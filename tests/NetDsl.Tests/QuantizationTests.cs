using NetDsl.Kernels;
using NetDsl.Optimizers;
using Xunit;

namespace NetDsl.Tests;

/// <summary>Int8 inference: the integer product checked exactly on values the quantization represents without error,
/// and against the closed-form error bound |w̃x̃ − wx| ≤ |w̃|·s/2 + |x|·scale/2 on random values; then the generated
/// networks' use of it (which layers, which weights, when they are quantized again).</summary>
public class QuantizationTests
{
    /// <summary>Rows whose values are whole steps of a power of two, holding both ends of the inputs' range, and weights
    /// that are whole steps with ±127 in every row: quantization is exact, so the product must equal Σ w·x computed in
    /// double (every partial sum is an integer times a power of two well inside float's 24 bits).</summary>
    [Theory]
    [InlineData(150, 30, 3, null)] // one 128-unit tile, two 16-unit blocks, inputs padded 30 → 32
    [InlineData(300, 501, 2, null)] // shared between the cores by rows
    [InlineData(300, 1001, 4, null)] // shared, inputs past four steps' groups
    [InlineData(37, 9, 2, QuantizedGemm.Kernel.Portable)]
    [InlineData(300, 501, 1, QuantizedGemm.Kernel.Portable)]
    [InlineData(150, 30, 3, QuantizedGemm.Kernel.Avx2)] // two groups of four blocks and two single blocks
    [InlineData(300, 1001, 2, QuantizedGemm.Kernel.Avx2)]
    internal void Exactly_representable_values_give_the_exact_product(int units, int inputs, int batch, QuantizedGemm.Kernel? kernel)
    {
        // The AVX2 kernel is forced only where the processor has it (an ARM64 machine, or one with AVX2 turned off).
        if (kernel == QuantizedGemm.Kernel.Avx2 && !System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        var random = new Random(units + inputs);
        var weights = new float[units * inputs];
        for (int u = 0; u < units; u++)
            for (int i = 0; i < inputs; i++)
                weights[u * inputs + i] = (i == u % inputs ? (u % 2 == 0 ? 127 : -127) : random.Next(-127, 128)) / 128f;
        var x = new float[batch * inputs];
        int levels = QuantizedGemm.InputLevels;
        var zeros = new[] { levels / 3, 0, levels };
        var steps = new[] { 1f / 32, 1f / 4, 2f };
        for (int r = 0; r < batch; r++)
        {
            // Both ends of the range appear, so the row's scale is exactly its step and its zero point exact; they sit
            // at different places in each row, so every lane and running set of the range search must see its end.
            int lowAt = (7 + 19 * r) % inputs, highAt = (lowAt + 1 + 16 * (r + 1)) % inputs;
            if (highAt == lowAt) highAt = (lowAt + 1) % inputs;
            for (int i = 0; i < inputs; i++)
            {
                int q = i == lowAt ? 0 : i == highAt ? levels : random.Next(0, levels + 1);
                x[r * inputs + i] = (q - zeros[r % 3]) * steps[r % 3];
            }
        }
        var layer = new QuantizedDense(units, inputs);
        layer.Quantize(weights);
        var y = Run(x, layer, batch, kernel);
        for (int r = 0; r < batch; r++)
            for (int u = 0; u < units; u++)
            {
                double expected = 0;
                for (int i = 0; i < inputs; i++) expected += (double)weights[u * inputs + i] * x[r * inputs + i];
                Assert.True(Math.Abs(y[r * units + u] - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)),
                    $"row {r} unit {u}: {y[r * units + u]} against {expected}");
            }
    }

    [Theory]
    [InlineData(256, 784, 1)]
    [InlineData(10, 128, 4)]
    [InlineData(129, 65, 9)]
    public void Random_values_stay_within_the_quantization_bound(int units, int inputs, int batch)
    {
        var weights = TestData.Uniform(units * inputs, 1, -0.3, 0.3);
        var x = TestData.Uniform(batch * inputs, 2, -1.5, 4);
        var layer = new QuantizedDense(units, inputs);
        layer.Quantize(weights);
        var y = Run(x, layer, batch, null);
        bool differs = false;
        for (int r = 0; r < batch; r++)
        {
            var row = x.AsSpan(r * inputs, inputs);
            // The row's step, from its range widened to hold zero.
            double step = (Math.Max(0, row.ToArray().Max()) - Math.Min(0, row.ToArray().Min())) / QuantizedGemm.InputLevels;
            for (int u = 0; u < units; u++)
            {
                double expected = 0, bound = 0;
                for (int i = 0; i < inputs; i++)
                {
                    double w = weights[u * inputs + i], wq = layer.Weight(u, i) * (double)layer.Scale(u);
                    Assert.True(Math.Abs(wq - w) <= layer.Scale(u) / 2 * (1 + 1e-6), $"weight ({u}, {i}): {wq} for {w}");
                    expected += w * row[i];
                    bound += Math.Abs(wq) * step / 2 + Math.Abs(row[i]) * layer.Scale(u) / 2;
                }
                double error = Math.Abs(y[r * units + u] - expected);
                Assert.True(error <= bound * (1 + 1e-5) + 1e-5, $"row {r} unit {u}: error {error} above the bound {bound}");
                differs |= error > 1e-6;
            }
        }
        Assert.True(differs, "the int8 product should not equal the float one on random values");
    }

    [Fact]
    public void Each_row_of_weights_uses_the_full_range_and_a_zero_row_stays_zero()
    {
        var weights = new float[] { 0.5f, -2f, 1.1f, 0, 0, 0, 3e-3f, 1e-3f, -1e-3f };
        var layer = new QuantizedDense(3, 3);
        layer.Quantize(weights);
        Assert.Equal(new[] { 32, -127, 70 }, new[] { layer.Weight(0, 0), layer.Weight(0, 1), layer.Weight(0, 2) });
        Assert.Equal(2f / 127, layer.Scale(0), 7);
        Assert.Equal(0f, layer.Scale(1));
        Assert.Equal(new[] { 127, 42, -42 }, new[] { layer.Weight(2, 0), layer.Weight(2, 1), layer.Weight(2, 2) });
        var y = Run([1f, 2f, -1f], layer, 1, null);
        Assert.Equal(0f, y[1]);
    }

    [Fact]
    public void A_non_finite_weight_or_input_gives_a_non_finite_output_as_in_float()
    {
        var weights = new float[] { 1, 2, float.NaN, 4, 5, 6 };
        var layer = new QuantizedDense(2, 3);
        layer.Quantize(weights);
        var y = Run([1f, 1f, 1f], layer, 1, null);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(15f, y[1], 1);
        y = Run([1f, float.PositiveInfinity, 1f], layer, 1, null);
        Assert.True(float.IsNaN(y[1]));

        // A non-finite input anywhere in a long row (both running sets of the vector search, its single-vector step and
        // the scalar tail) makes every output of the row NaN.
        const int inputs = 83;
        var wide = new QuantizedDense(3, inputs);
        wide.Quantize(TestData.Uniform(3 * inputs, 5, -0.5, 0.5));
        foreach (var bad in new[] { float.NaN, float.NegativeInfinity })
            for (int at = 0; at < inputs; at++)
            {
                var x = TestData.Uniform(inputs, 6);
                x[at] = bad;
                Assert.All(Run(x, wide, 1, null), v => Assert.True(float.IsNaN(v), $"{bad} at {at} gave {v}"));
            }
    }

    /// <summary>A row from −9.5 to 21.5 has a step of exactly 1 and zero point round(9.5) = 10 (ties to even), so its
    /// top, 21.5, rounds to 22 + 10 = 32: one level past the 31 that keeps four steps' sums within 16 bits. Every kernel's
    /// row quantization must clamp it to 31 wherever it sits (the wide vector step, the single-vector one, the scalar
    /// tail) and give every other value round(x) + 10.</summary>
    [Theory]
    [InlineData(QuantizedGemm.Kernel.Portable)]
    [InlineData(QuantizedGemm.Kernel.Avx2)]
    [InlineData(QuantizedGemm.Kernel.Avx512)]
    internal void Rounding_at_both_ends_of_the_range_stays_within_the_levels(QuantizedGemm.Kernel kernel)
    {
        if (kernel == QuantizedGemm.Kernel.Avx2 && !System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        if (kernel == QuantizedGemm.Kernel.Avx512 && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) return;
        const int inputs = 150; // two 64-value steps, a 16-value one and six left over
        var random = new Random(7);
        var quantized = new byte[inputs];
        for (int top = 0; top < inputs; top++)
        {
            var row = new float[inputs];
            for (int i = 0; i < inputs; i++) row[i] = random.Next(-9, 22) + (random.Next(2) == 0 ? 0 : 0.25f);
            row[top] = 21.5f;
            row[(top + 1 + top % 50) % inputs] = -9.5f;
            QuantizedGemm.QuantizeRow(row, quantized, out float scale, out int zero, kernel);
            Assert.Equal(1f, scale);
            Assert.Equal(10, zero);
            for (int i = 0; i < inputs; i++)
            {
                int expected = Math.Clamp((int)Math.Round((double)row[i], MidpointRounding.ToEven) + 10, 0, QuantizedGemm.InputLevels);
                Assert.True(expected == quantized[i], $"{kernel}, top at {top}: {row[i]} at {i} gave {quantized[i]}, not {expected}");
            }
        }
    }

    [Fact]
    public void Wrong_lengths_name_both_shapes()
    {
        var layer = new QuantizedDense(4, 6);
        var error = Assert.Throws<ArgumentException>(() => layer.Quantize(new float[23]));
        Assert.Contains("23", error.Message);
        Assert.Contains("(4, 6)", error.Message);
        error = Assert.Throws<ArgumentException>(() => Run(new float[11], layer, 2, null));
        Assert.Contains("11", error.Message);
        Assert.Contains("2 × (6)", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuantizedDense(0, 3));
    }

    /// <summary>The sample's MLP with int8 Dense layers against the scheme redone here layer by layer (weights and each
    /// layer's input quantized in float as documented, integer sums, then bias and ReLU): the generated code must apply
    /// it to every Dense layer and nothing else. Loss evaluation stays in float.</summary>
    [Fact]
    public void An_int8_network_follows_the_scheme_layer_by_layer_and_evaluates_its_loss_in_float()
    {
        var network = new FashionMlp(seed: 3);
        int batch = 5;
        var x = TestData.Uniform(batch * 784, 4, -1, 3);
        var targets = TestData.OneHot(batch, 10, 5);
        var exact = new float[batch * 10];
        network.PredictBatch(x, exact);
        float loss = network.EvaluateLoss(x, targets);
        network.InferencePrecision = InferencePrecision.Int8;
        var quantized = new float[batch * 10];
        network.PredictBatch(x, quantized);

        var theta = network.Parameters.ToArray();
        float[] Tensor(string name) => ((INeuralNetwork)network).ParameterTensors.Single(t => t.Name == name) is var t ? theta.AsSpan(t.Offset, t.Length).ToArray() : [];
        for (int r = 0; r < batch; r++)
        {
            var h1 = ReferenceLayer(x.AsSpan(r * 784, 784).ToArray(), Tensor("Hidden1.weight"), Tensor("Hidden1.bias"), 256, relu: true);
            var h2 = ReferenceLayer(h1, Tensor("Hidden2.weight"), Tensor("Hidden2.bias"), 128, relu: true);
            var logits = ReferenceLayer(h2, Tensor("Logits.weight"), Tensor("Logits.bias"), 10, relu: false);
            for (int j = 0; j < 10; j++)
                Assert.True(Math.Abs(quantized[r * 10 + j] - logits[j]) <= 1e-4 * Math.Max(1, Math.Abs(logits[j])),
                    $"sample {r} logit {j}: {quantized[r * 10 + j]} against {logits[j]}");
        }
        Assert.True(exact.Zip(quantized, (a, b) => Math.Abs(a - b)).Max() > 1e-4, "int8 predictions should differ from float ones");
        Assert.Equal(loss, network.EvaluateLoss(x, targets));
        var single = new float[10];
        network.Predict(x.AsSpan(0, 784), single);
        Assert.Equal(quantized.AsSpan(0, 10).ToArray(), single);
    }

    /// <summary>One Dense layer under the documented scheme, in float where the scheme is in float.</summary>
    static float[] ReferenceLayer(float[] x, float[] weights, float[] bias, int units, bool relu)
    {
        int inputs = x.Length;
        float lo = Math.Min(0, x.Min()), hi = Math.Max(0, x.Max());
        int levels = QuantizedGemm.InputLevels;
        float step = (hi - lo) / levels, inverse = 1f / step;
        int zero = Math.Clamp((int)MathF.Round(-lo * inverse), 0, levels);
        var qx = x.Select(v => Math.Clamp((int)MathF.Round(v * inverse) + zero, 0, levels)).ToArray();
        var y = new float[units];
        for (int u = 0; u < units; u++)
        {
            var row = weights.AsSpan(u * inputs, inputs);
            float scale = row.ToArray().Max(MathF.Abs) / 127f;
            long sum = 0, weightSum = 0;
            for (int i = 0; i < inputs; i++)
            {
                int q = Math.Clamp((int)MathF.Round(row[i] / scale), -127, 127);
                sum += (long)q * qx[i];
                weightSum += q;
            }
            float value = step * scale * (sum - zero * weightSum) + bias[u];
            y[u] = relu ? Math.Max(0, value) : value;
        }
        return y;
    }

    [Fact]
    public void New_weights_are_quantized_again_after_training_or_a_write_to_the_parameters()
    {
        var network = new SmallClassifier(seed: 1) { InferencePrecision = InferencePrecision.Int8 };
        int inputs = SmallClassifier.InputSize;
        var x = TestData.Uniform(8 * inputs, 6);
        var before = new float[8 * 3];
        network.PredictBatch(x, before);
        network.TrainStep(x, TestData.OneHot(8, 3, 7), new Sgd(0.5));
        AssertSameAsFreshCopy(network, x);
        network.Parameters[0] += 1f;
        AssertSameAsFreshCopy(network, x);
        network.Initialize(9);
        AssertSameAsFreshCopy(network, x);
    }

    /// <summary>A Dense layer without bias before a BatchNorm is folded at inference (W′ = γW/√(σ² + ε)); the int8
    /// product must quantize W′, so each output stays within the bound computed from W′ and the sample's step.</summary>
    [Fact]
    public void A_folded_BatchNorm_is_quantized_with_its_product()
    {
        var network = new DenseNorm(seed: 2).WithSpreadStatistics();
        var statistics = network.RunningStatistics; // means, then variances
        var x = TestData.Uniform(6 * 5, 8);
        var exact = new float[24];
        network.PredictBatch(x, exact);
        network.InferencePrecision = InferencePrecision.Int8;
        var quantized = new float[24];
        network.PredictBatch(x, quantized);

        var net = (INeuralNetwork)network;
        var theta = net.Parameters.ToArray();
        var w = net.ParameterTensors.Single(t => t.Name == "Hidden.weight");
        var gamma = net.ParameterTensors.Single(t => t.Name == "Norm.weight");
        bool differs = false;
        for (int r = 0; r < 6; r++)
        {
            var row = x.AsSpan(r * 5, 5).ToArray();
            double step = (Math.Max(0, row.Max()) - Math.Min(0, row.Min())) / QuantizedGemm.InputLevels;
            for (int c = 0; c < 4; c++)
            {
                double factor = theta[gamma.Offset + c] / Math.Sqrt(statistics[4 + c] + 1e-5);
                var folded = Enumerable.Range(0, 5).Select(i => factor * theta[w.Offset + c * 5 + i]).ToArray();
                double scale = folded.Max(Math.Abs) / 127, bound = 0;
                for (int i = 0; i < 5; i++) bound += (Math.Abs(folded[i]) + scale / 2) * step / 2 + Math.Abs(row[i]) * scale / 2;
                double error = Math.Abs(quantized[r * 4 + c] - exact[r * 4 + c]);
                Assert.True(error <= bound * 1.01 + 1e-5, $"sample {r} channel {c}: error {error} above the bound {bound}");
                differs |= error > 1e-6;
            }
        }
        Assert.True(differs, "int8 predictions should differ from float ones");
    }

    /// <summary>The int8 weights are W′ while BatchNorm folds into the product and W once it no longer does: after the
    /// switch a prediction must match a network that never folded.</summary>
    [Fact]
    public void Switching_BatchNorm_folding_quantizes_the_weights_again()
    {
        DenseNorm Network(bool fold) =>
            new DenseNorm(seed: 2) { InferencePrecision = InferencePrecision.Int8, FoldBatchNormAtInference = fold }.WithSpreadStatistics();
        var x = TestData.Uniform(6 * 5, 8);
        var switched = Network(fold: true);
        var before = new float[24];
        switched.PredictBatch(x, before);
        switched.FoldBatchNormAtInference = false;
        var after = new float[24];
        switched.PredictBatch(x, after);
        var expected = new float[24];
        Network(fold: false).PredictBatch(x, expected);
        Assert.Equal(expected, after);
        Assert.NotEqual(expected, before);
    }

    static void AssertSameAsFreshCopy(SmallClassifier network, float[] x)
    {
        var copy = new SmallClassifier { InferencePrecision = InferencePrecision.Int8 };
        network.Parameters.CopyTo(copy.Parameters);
        var expected = new float[x.Length / SmallClassifier.InputSize * 3];
        var actual = new float[expected.Length];
        copy.PredictBatch(x, expected);
        network.PredictBatch(x, actual);
        Assert.Equal(expected, actual);
    }

    static float[] Run(float[] x, QuantizedDense layer, int batch, QuantizedGemm.Kernel? kernel)
    {
        var y = new float[batch * layer.Units];
        var store = new StoreEpilogue<float>(y, layer.Units);
        QuantizedGemm.ForcedKernel = kernel;
        try
        {
            QuantizedGemm.Multiply<float, StoreEpilogue<float>>(x, layer, batch, ref store);
        }
        finally
        {
            QuantizedGemm.ForcedKernel = null;
        }
        return y;
    }
}
