using System.Numerics;
using NetDsl.Kernels;

namespace NetDsl.Tests;

public class KernelTests
{
    // 37 values: two 16-wide vectors, one 4-wide remainder of 256-bit lanes, and a scalar tail.
    static double[] Inputs(int count = 37) => Enumerable.Range(0, count).Select(i => -4.5 + 0.25 * i).ToArray();

    [Fact]
    public void Activations_match_their_formulas_in_float_and_double_across_vector_widths_and_tails()
    {
        var x = Inputs();
        (Action<Span<double>> Run, Action<Span<float>> RunFloat, Func<double, double> Reference)[] cases =
        [
            (v => Activations.ReLU(v), v => Activations.ReLU(v), z => Math.Max(0, z)),
            (v => Activations.Sigmoid(v), v => Activations.Sigmoid(v), z => 1 / (1 + Math.Exp(-z))),
            (v => Activations.Tanh(v), v => Activations.Tanh(v), Math.Tanh),
        ];
        foreach (var (run, runFloat, reference) in cases)
        {
            var d = (double[])x.Clone();
            run(d);
            var f = x.Select(v => (float)v).ToArray();
            runFloat(f);
            for (int i = 0; i < x.Length; i++)
            {
                Assert.Equal(reference(x[i]), d[i], 1e-14);
                Assert.Equal(reference(x[i]), f[i], 1e-6);
            }
        }
    }

    [Fact]
    public void Parameterized_activations_and_their_backward_steps_match_their_formulas()
    {
        const double lambda = 1.0507009873554805, alpha = 1.6732632423543772;
        var z = Inputs();
        (Action<Span<double>> Forward, Action<Span<double>, ReadOnlySpan<double>> Backward, Func<double, double> Value, Func<double, double> Derivative)[] cases =
        [
            (v => Activations.LeakyReLU(v, 0.1), (g, a) => Activations.LeakyReLUBackward(g, a, 0.1), x => x > 0 ? x : 0.1 * x, x => x > 0 ? 1 : 0.1),
            (v => Activations.ELU(v, 0.7), (g, a) => Activations.ELUBackward(g, a, 0.7), x => x > 0 ? x : 0.7 * (Math.Exp(x) - 1), x => x > 0 ? 1 : 0.7 * Math.Exp(x)),
            (v => Activations.SELU(v), (g, a) => Activations.SELUBackward(g, a), x => lambda * (x > 0 ? x : alpha * (Math.Exp(x) - 1)), x => x > 0 ? lambda : lambda * alpha * Math.Exp(x)),
        ];
        foreach (var (forward, backward, value, derivative) in cases)
        {
            var a = (double[])z.Clone();
            forward(a);
            var g = z.Select((_, i) => 0.1 * (i + 1)).ToArray();
            backward(g, a);
            var f = z.Select(v => (float)v).ToArray();
            for (int i = 0; i < z.Length; i++)
            {
                Assert.Equal(value(z[i]), a[i], 1e-14);
                Assert.Equal(0.1 * (i + 1) * derivative(z[i]), g[i], 1e-13);
            }
        }
        float[] single = [-2f, 3f];
        Activations.LeakyReLU(single, 0.25f);
        Assert.Equal([-0.5f, 3f], single);
    }

    [Fact]
    public void Hand_computed_activation_values()
    {
        double[] v = [0, 2, -1];
        Activations.Sigmoid<double>(v);
        Assert.Equal(0.5, v[0], 15);
        Assert.Equal(0.8807970779778823, v[1], 15);
        Assert.Equal(0.2689414213699951, v[2], 15);
        double[] t = [0.5];
        Activations.Tanh<double>(t);
        Assert.Equal(0.46211715726000974, t[0], 14);
        double[] s = [1, 2, 3, 1, 1, 1];
        Activations.SoftmaxRows<double>(s, 3);
        Assert.Equal(0.09003057317038046, s[0], 15);
        Assert.Equal(0.24472847105479764, s[1], 15);
        Assert.Equal(0.6652409557748219, s[2], 15);
        Assert.All(s[3..], p => Assert.Equal(1.0 / 3, p, 15));
    }

    [Fact]
    public void Backward_steps_multiply_by_the_derivative_written_with_the_output()
    {
        var z = Inputs();
        var gradient = z.Select((_, i) => 0.1 * (i + 1)).ToArray();
        (Action<Span<double>> Forward, Action<Span<double>, ReadOnlySpan<double>> Backward, Func<double, double> Derivative)[] cases =
        [
            (v => Activations.ReLU(v), (g, a) => Activations.ReLUBackward(g, a), v => v > 0 ? 1 : 0),
            (v => Activations.Sigmoid(v), (g, a) => Activations.SigmoidBackward(g, a), v => Math.Exp(-v) / Math.Pow(1 + Math.Exp(-v), 2)),
            (v => Activations.Tanh(v), (g, a) => Activations.TanhBackward(g, a), v => 1 / Math.Pow(Math.Cosh(v), 2)),
        ];
        foreach (var (forward, backward, derivative) in cases)
        {
            var a = (double[])z.Clone();
            forward(a);
            var g = (double[])gradient.Clone();
            backward(g, a);
            for (int i = 0; i < z.Length; i++) Assert.Equal(gradient[i] * derivative(z[i]), g[i], 1e-12);
        }
    }

    [Fact]
    public void Softmax_backward_is_the_jacobian_product()
    {
        double[] z = [0.3, -1.2, 2.0, 0.7];
        double[] y = (double[])z.Clone();
        Activations.SoftmaxRows<double>(y, 4);
        double[] upstream = [0.5, -0.25, 1.5, 0.1];
        var g = (double[])upstream.Clone();
        Activations.SoftmaxRowsBackward<double>(g, y, 4);
        for (int i = 0; i < 4; i++)
        {
            // ∂yⱼ/∂zᵢ = yⱼ(δᵢⱼ − yᵢ)
            double expected = 0;
            for (int j = 0; j < 4; j++) expected += upstream[j] * y[j] * ((i == j ? 1 : 0) - y[i]);
            Assert.Equal(expected, g[i], 1e-15);
        }
    }

    [Fact]
    public void Softmax_cross_entropy_matches_the_hand_computed_value_and_fused_gradient()
    {
        float[] logits = [1, 2, 3, 0, 0, 0];
        float[] targets = [0, 0, 1, 1, 0, 0];
        var gradient = new float[6];
        double loss = LossKernels.SoftmaxCrossEntropy<float>(logits, targets, gradient, 2, 3);
        // Row 1: −log(e³/(e + e² + e³)) = log(1 + e⁻¹ + e⁻²); row 2: log 3.
        Assert.Equal((Math.Log(1 + Math.Exp(-1) + Math.Exp(-2)) + Math.Log(3)) / 2, loss, 1e-12);
        Assert.Equal((0.09003057317038046 - 0) / 2, gradient[0], 1e-7);
        Assert.Equal((0.6652409557748219 - 1) / 2, gradient[2], 1e-7);
        Assert.Equal((1.0 / 3 - 1) / 2, gradient[3], 1e-7);
    }

    [Fact]
    public void Label_smoothing_mixes_the_targets_with_the_uniform_distribution()
    {
        double[] logits = [0, 0];
        double[] targets = [1, 0];
        var gradient = new double[2];
        // ε = 0.2, K = 2: targets (0.9, 0.1); both probabilities 0.5, so the loss is log 2 whatever the targets.
        Assert.Equal(Math.Log(2), LossKernels.SoftmaxCrossEntropy<double>(logits, targets, gradient, 1, 2, labelSmoothing: 0.2), 15);
        Assert.Equal(0.5 - 0.9, gradient[0], 15);
        Assert.Equal(0.5 - 0.1, gradient[1], 15);
        double[] logits2 = [Math.Log(3), 0];   // probabilities 0.75, 0.25
        Assert.Equal(-(0.9 * Math.Log(0.75) + 0.1 * Math.Log(0.25)),
            LossKernels.SoftmaxCrossEntropy<double>(logits2, targets, [], 1, 2, labelSmoothing: 0.2), 14);
    }

    [Fact]
    public void Binary_cross_entropy_matches_the_hand_computed_value_and_fused_gradient()
    {
        double[] outputs = [0.8, 0.3];
        double[] targets = [1, 0];
        var gradient = new double[2];
        double loss = LossKernels.BinaryCrossEntropy<double>(outputs, targets, gradient, 1, 2);
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.7)) / 2, loss, 15);
        Assert.Equal((0.8 - 1) / 2, gradient[0], 15);
        Assert.Equal(0.3 / 2, gradient[1], 15);
        // ε = 0.1 makes the targets 0.95 and 0.05.
        Assert.Equal(-(0.95 * Math.Log(0.8) + 0.05 * Math.Log(0.2) + 0.05 * Math.Log(0.3) + 0.95 * Math.Log(0.7)) / 2,
            LossKernels.BinaryCrossEntropy<double>(outputs, targets, [], 1, 2, labelSmoothing: 0.1), 14);
        Assert.True(double.IsFinite(LossKernels.BinaryCrossEntropy<float>([1f, 0f], [0f, 1f], [], 1, 2)));
    }

    [Fact]
    public void Softmax_cross_entropy_stays_finite_for_huge_logits()
    {
        float[] logits = [1000, -1000];
        float[] targets = [1, 0];
        Assert.Equal(0, LossKernels.SoftmaxCrossEntropy<float>(logits, targets, [], 1, 2), 12);
    }

    [Fact]
    public void Mean_squared_error_matches_the_hand_computed_value_and_gradient()
    {
        double[] outputs = [1, 2, 0.5, 0];
        double[] targets = [0, 4, 0.5, 1];
        var gradient = new double[4];
        double loss = LossKernels.MeanSquaredError<double>(outputs, targets, gradient, 2, 2);
        Assert.Equal((1 + 4 + 0 + 1) / 4.0, loss, 15);
        Assert.Equal([0.5, -1, 0, -0.5], gradient);
    }

    [Fact]
    public void Mean_squared_error_on_floats_matches_the_formula_in_whole_vectors_and_the_tail()
    {
        // 5 × 7 = 35 values: two blocks of 16 and a tail of 3.
        var outputs = Workload(35, 1);
        var targets = Workload(35, 2);
        var gradient = new float[35];
        double loss = LossKernels.MeanSquaredError<float>(outputs, targets, gradient, 5, 7);
        double expected = 0;
        for (int i = 0; i < 35; i++)
        {
            double difference = (double)outputs[i] - targets[i];
            expected += difference * difference / 35;
            Assert.Equal((float)(2 * difference / 35), gradient[i]);
        }
        Assert.Equal(expected, loss, 1e-12);
        Assert.Equal(loss, LossKernels.MeanSquaredError<float>(outputs, targets, [], 5, 7), 1e-15);

        static float[] Workload(int count, int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        }
    }

    [Fact]
    public void Loss_rejects_targets_of_the_wrong_shape_naming_both()
    {
        var error = Assert.Throws<ArgumentException>(() => LossKernels.MeanSquaredError<float>(new float[4], new float[3], [], 2, 2));
        Assert.Contains("3 values", error.Message);
        Assert.Contains("2 samples of shape (2)", error.Message);
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, true, true)]
    [InlineData(false, false, true)]
    public void Gemm_matches_a_naive_product_for_every_layout(bool transposeA, bool transposeB, bool onesColumn)
    {
        // (37, 70, 61) and (203, 9, 129) are large enough to be shared between cores: split by column panels, then (one
        // panel) by rows; (21, 40, 600) walks its inner dimension in several depth blocks; (45, 100, 500) does too with
        // A's 8-row tiles packed (each core reads two or more panels) and a 4-row and a 1-row tile left over. In float,
        // B stored n×k is packed by 16×16 register transposes where whole blocks fit (n ≥ 16, k ≥ 16) and move by move
        // elsewhere. (3, 45, 70) with B stored n×k takes the few-rows path: dot products eight, four and one column at a
        // time, vectors and a scalar tail along k. (301, 70, 900) has more A than L2 holds: blocks of 256 rows and 180
        // depths, the second block 5 tiles, a 4-row and a 1-row tile, every panel under each block of A (a part with
        // one panel takes the usual path). (6, 50, 20)'s last panel ends in its second 16-column half, where the ones
        // column then falls.
        foreach (var (m, n, k) in new[] { (1, 1, 1), (5, 37, 3), (6, 50, 20), (9, 33, 17), (4, 64, 8), (13, 7, 40), (37, 70, 61), (203, 9, 129), (21, 40, 600), (45, 100, 500), (3, 45, 70), (301, 70, 900) })
        {
            CheckProduct<double>(m, n, k, transposeA, transposeB, onesColumn, 1e-12);
            CheckProduct<float>(m, n, k, transposeA, transposeB, onesColumn, 1e-5 * k);
        }
    }

    static void CheckProduct<T>(int m, int n, int k, bool transposeA, bool transposeB, bool onesColumn, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = TestData.Uniform(m * k, m + n).Select(v => (double)v).ToArray();
        var b = TestData.Uniform(k * n, k + 7).Select(v => (double)v).ToArray();
        int columns = n + (onesColumn ? 1 : 0);
        // On a cache line, as a network's buffers are, so that an output of Arithmetic.StreamingBytes is streamed; NaN
        // first, so that an element left unwritten shows.
        var output = new AlignedBuffer<T>(m * columns);
        var c = output.AsSpan();
        c.Fill(T.NaN);
        var store = new StoreEpilogue<T>(c, columns);
        Gemm.Multiply<T, StoreEpilogue<T>>(a.Select(T.CreateChecked).ToArray(), transposeA, b.Select(T.CreateChecked).ToArray(), transposeB,
            m, n, k, ref store, onesColumn);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < columns; j++)
            {
                double expected = 0;
                for (int p = 0; p < k; p++)
                    expected += (transposeA ? a[p * m + i] : a[i * k + p]) * (j == n ? 1 : transposeB ? b[j * k + p] : b[p * n + j]);
                Assert.True(Math.Abs(expected - double.CreateChecked(c[i * columns + j])) <= tolerance,
                    $"{typeof(T).Name} ({m}, {n}, {k}) C[{i}, {j}] = {c[i * columns + j]}, expected {expected}");
            }
    }

    [Fact]
    public void Samples_claimed_one_at_a_time_are_each_run_once_as_a_range_of_one()
    {
        foreach (int count in new[] { 1, 2, 3, 7, 64, 101 })
        {
            var visits = new int[count];
            var loop = new VisitingLoop(visits);
            // Work enough to share whenever there are two samples.
            bool shared = WorkSharing.ForEachSample(ref loop, count, workPerSample: 1L << 30);
            Assert.Equal(count >= 2 && WorkSharing.Parts >= 2, shared);
            Assert.All(visits, v => Assert.Equal(1, v));
            Assert.Equal(count >= 2 && WorkSharing.Parts >= 2 ? count : 1, loop.Calls[0] + loop.Calls[1]);
        }
    }

    /// <summary>Counts the visits of each sample and the calls of each part, each call one sample when claimed.</summary>
    sealed class VisitCounts { public readonly int[] Calls = new int[2]; }

    ref struct VisitingLoop(int[] visits) : ISampleLoop
    {
        readonly int[] visits = visits;
        readonly VisitCounts counts = new();

        public readonly int[] Calls => counts.Calls;

        public readonly void Run(int first, int last, int part)
        {
            Interlocked.Increment(ref counts.Calls[part]);
            for (int s = first; s < last; s++) Interlocked.Increment(ref visits[s]);
            // Long enough per sample that the worker starts and claims samples from the last one back.
            Thread.SpinWait(20_000);
        }
    }

    /// <summary>Counts, for each element of C, how many times a piece holding it reached the epilogue (from either core).</summary>
    ref struct CountingEpilogue(Span<int> counts, int columns) : IGemmEpilogue<float>
    {
        readonly Span<int> counts = counts;

        public readonly void Apply(int row, int column, scoped Span<float> values)
        {
            for (int j = 0; j < values.Length; j++) Interlocked.Increment(ref counts[row * columns + column + j]);
        }
    }

    [Fact]
    public void Every_element_of_the_product_reaches_the_epilogue_exactly_once_whichever_way_the_cores_share_it()
    {
        // Shared products of each kind: dot products for three rows with B stored n×k (columns split in halves), panels
        // claimed one at a time from both ends (with and without depth blocks), the blocked path for A beyond L2 (halves
        // of B, row blocks claimed, either core taking the other's), and a single panel split by rows.
        foreach (var (m, n, k, transposeB) in new[] { (3, 2000, 64, true), (45, 100, 500, false), (64, 330, 200, true), (301, 70, 900, false), (203, 9, 129, false) })
            for (int round = 0; round < 20; round++)
            {
                var counts = new int[m * n];
                var epilogue = new CountingEpilogue(counts, n);
                Gemm.Multiply<float, CountingEpilogue>(new float[m * k], false, new float[k * n], transposeB, m, n, k, ref epilogue);
                int wrong = Array.FindIndex(counts, c => c != 1);
                Assert.True(wrong < 0, $"({m}, {n}, {k}) C[{wrong / n}, {wrong % n}] reached the epilogue {(wrong < 0 ? 1 : counts[wrong])} times");
            }
    }

    [Fact]
    public void Dropout_masks_keep_the_expected_fraction_scaled_and_repeat_for_the_same_seed()
    {
        var mask = new float[100_000];
        Dropout.FillMask<float>(mask, 0.3, seed: 42, stream: 1);
        double kept = mask.Count(v => v != 0) / (double)mask.Length;
        Assert.InRange(kept, 0.7 - 0.005, 0.7 + 0.005); // ±3.5σ of a binomial(100000, 0.7) fraction
        Assert.All(mask, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.7f) < 1e-6));
        var again = new float[mask.Length];
        Dropout.FillMask<float>(again, 0.3, seed: 42, stream: 1);
        Assert.Equal(mask, again);
        Dropout.FillMask<float>(again, 0.3, seed: 42, stream: 2);
        Assert.NotEqual(mask, again);
        Assert.Throws<ArgumentOutOfRangeException>(() => Dropout.FillMask<float>(mask, 1.0, 1, 1));
    }

    [Fact]
    public void Work_sharing_can_be_turned_off_without_changing_the_gradients()
    {
        var inputs = TestData.Uniform(28 * 300, 33);
        var targets = TestData.OneHot(28, 3, 34);
        var shared = new SharedCnn(seed: 5);
        shared.ComputeGradients(inputs, targets);
        var expected = shared.Gradients.ToArray();
        var alone = new SharedCnn(seed: 5);
        try
        {
            WorkSharing.Enabled = false;
            alone.ComputeGradients(inputs, targets);
        }
        finally
        {
            WorkSharing.Enabled = true;
        }
        var actual = alone.Gradients.ToArray();
        double scale = expected.Max(v => Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale, $"θ[{i}]: shared {expected[i]}, one core {actual[i]}");
    }

    ref struct FailingEpilogue(int failFromColumn) : IGemmEpilogue<double>
    {
        public readonly void Apply(int row, int column, scoped Span<double> values)
        {
            if (column >= failFromColumn) throw new InvalidOperationException($"epilogue failed at column {column}");
        }
    }

    [Fact]
    public void An_exception_in_either_core_s_part_reaches_the_caller_and_the_worker_stays_usable()
    {
        var a = TestData.Uniform(64 * 64, 35).Select(v => (double)v).ToArray();
        foreach (int failFrom in new[] { 0, 48 }) // every panel fails; only the last panel (the worker's first) fails
        {
            var error = Assert.ThrowsAny<Exception>(() =>
            {
                var failing = new FailingEpilogue(failFrom);
                Gemm.Multiply<double, FailingEpilogue>(a, false, a, false, 64, 64, 64, ref failing);
            });
            Assert.Contains("epilogue failed", (error.InnerException ?? error).Message);
        }
        var c = new double[64 * 64];
        var store = new StoreEpilogue<double>(c, 64);
        Gemm.Multiply<double, StoreEpilogue<double>>(a, false, a, false, 64, 64, 64, ref store);
        double expected = 0;
        for (int p = 0; p < 64; p++) expected += a[5 * 64 + p] * a[p * 64 + 7];
        Assert.Equal(expected, c[5 * 64 + 7], 1e-12);
    }

    [Theory]
    [InlineData(3, 1, 28, 28, 2, 2)]   // 14 outputs per row: vectors of 16 run into the next row
    [InlineData(100, 1, 28, 28, 2, 2)] // large enough to share planes between the cores
    [InlineData(2, 3, 7, 9, 2, 2)]     // odd sizes: the last input row and column take no window
    [InlineData(2, 2, 40, 40, 2, 2)]   // 20 outputs per row: one whole vector and a tail
    [InlineData(2, 3, 9, 9, 3, 2)]     // 3×3 windows take the general loop
    public void Max_pooling_and_its_backward_match_a_naive_window_walk_with_first_wins_ties(int batch, int channels, int height, int width, int window, int stride)
    {
        var g = new ConvGeometry(channels, height, width, window, window, stride, 0, 0, (height - window) / stride + 1, (width - window) / stride + 1);
        // Values on a coarse grid, so many windows hold ties, and one NaN.
        var input = TestData.Uniform(batch * g.InputSize, height * width).Select(v => MathF.Round(v * 2) / 2).ToArray();
        input[input.Length / 2] = float.NaN;
        int outputs = batch * channels * g.OutputPixels;
        var output = new float[outputs];
        var winners = new float[outputs];
        Pooling.MaxForward<float>(input, output, winners, batch, g);
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < channels; c++)
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        int best = -1;
                        for (int ky = 0; ky < window; ky++)
                            for (int kx = 0; kx < window; kx++)
                            {
                                int at = (c * height + oy * stride + ky) * width + ox * stride + kx;
                                if (best < 0 || input[s * g.InputSize + at] > input[s * g.InputSize + best]) best = at;
                            }
                        int o = (s * channels + c) * g.OutputPixels + oy * g.OutputWidth + ox;
                        Assert.True(best == (int)winners[o], $"sample {s} channel {c} output ({oy}, {ox}): winner {winners[o]}, expected {best}");
                        Assert.Equal(input[s * g.InputSize + best], output[o]);
                    }

        // Backward: each output's gradient lands on its winner, every other input gets zero. The destination starts
        // full of NaN so an input the kernel forgets to write shows.
        var outputGradient = TestData.Uniform(outputs, 5);
        var expected = new float[input.Length];
        for (int o = 0; o < outputs; o++)
        {
            int sample = o / (channels * g.OutputPixels);
            expected[sample * g.InputSize + (int)winners[o]] += outputGradient[o];
        }
        var inputGradient = Enumerable.Repeat(float.NaN, input.Length).ToArray();
        Pooling.MaxBackward<float>(outputGradient, winners, inputGradient, batch, g);
        for (int i = 0; i < input.Length; i++)
            Assert.True(expected[i] == inputGradient[i], $"input gradient {i}: {inputGradient[i]}, expected {expected[i]}");

        // Through a ReLU before the pooling: the same routing times ReLU′ at the winner, [pooled value > 0] (the NaN
        // window passes nothing, as ReLU's backward on NaN gives 0).
        var gatedExpected = new float[input.Length];
        for (int o = 0; o < outputs; o++)
            if (output[o] > 0)
                gatedExpected[o / (channels * g.OutputPixels) * g.InputSize + (int)winners[o]] += outputGradient[o];
        Array.Fill(inputGradient, float.NaN);
        Pooling.MaxBackward<float>(outputGradient, winners, inputGradient, batch, g, reluOutputs: output);
        for (int i = 0; i < input.Length; i++)
            Assert.True(gatedExpected[i] == inputGradient[i], $"gated input gradient {i}: {inputGradient[i]}, expected {gatedExpected[i]}");
    }

    [Theory]
    [InlineData(3, 7, 7, 3, 1, 1, 1, 7, 7)] // same padding at stride 1: each tap's row is the plane shifted
    [InlineData(2, 6, 5, 5, 1, 2, 2, 6, 5)] // a 5×5 same convolution: shifts of up to two rows and columns
    [InlineData(2, 5, 6, 2, 1, 0, 0, 5, 6)] // a 2×2 same convolution: all padding below and to the right
    [InlineData(2, 4, 4, 3, 1, 0, 1, 2, 4)] // valid vertically, same horizontally: still a shifted plane
    [InlineData(2, 7, 7, 3, 2, 1, 1, 4, 4)] // strided: window by window
    [InlineData(2, 6, 6, 3, 1, 0, 0, 4, 4)] // valid: narrower output, row by row
    public void Im2col_lays_out_every_window_with_zeros_for_padding(int channels, int height, int width, int kernel, int stride,
        int padTop, int padLeft, int outputHeight, int outputWidth)
    {
        var g = new ConvGeometry(channels, height, width, kernel, kernel, stride, padTop, padLeft, outputHeight, outputWidth);
        var image = TestData.Uniform(g.InputSize, height * 10 + kernel).Select(v => (double)v).ToArray();
        var columns = Enumerable.Repeat(double.NaN, g.PatchSize * g.OutputPixels).ToArray();
        Convolution.Im2Col<double>(image, columns, g);
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < kernel; ky++)
                for (int kx = 0; kx < kernel; kx++)
                    for (int oy = 0; oy < outputHeight; oy++)
                        for (int ox = 0; ox < outputWidth; ox++)
                        {
                            int y = oy * stride + ky - padTop, x = ox * stride + kx - padLeft;
                            double expected = y >= 0 && y < height && x >= 0 && x < width ? image[(c * height + y) * width + x] : 0;
                            int at = ((c * kernel + ky) * kernel + kx) * g.OutputPixels + oy * outputWidth + ox;
                            Assert.True(expected == columns[at], $"tap ({c}, {ky}, {kx}) at ({oy}, {ox}): {columns[at]}, expected {expected}");
                        }
    }

    [Theory]
    [InlineData(32, 14, 14, 3, 1, 1, 14, 64)] // the Fashion CNN's second convolution: seven panels, the last one partial
    [InlineData(4, 28, 28, 3, 1, 1, 28, 32)] // 25 panels
    [InlineData(3, 6, 5, 5, 2, 2, 6, 8)] // a 5×5 same convolution on a 30-pixel plane: one partial panel, shifts of two
    [InlineData(4, 4, 9, 3, 0, 1, 2, 9)] // valid vertically, same horizontally: fewer output rows than input rows
    [InlineData(8, 5, 6, 2, 0, 0, 5, 11)] // a 2×2 same convolution, padding only below and right; rows not a multiple of 8
    public void The_product_packed_from_the_image_is_the_direct_convolution(int channels, int height, int width, int kernel,
        int padTop, int padLeft, int outputHeight, int filters)
    {
        var g = new ConvGeometry(channels, height, width, kernel, kernel, 1, padTop, padLeft, outputHeight, width);
        var image = TestData.Uniform(g.InputSize, height * 10 + kernel);
        var weights = TestData.Uniform(filters * g.PatchSize, filters + kernel);
        var output = Enumerable.Repeat(float.NaN, filters * g.OutputPixels).ToArray();
        if (!Gemm.PacksPatches<float>(g))
        {
            // Without 512-bit vectors the convolution goes through its column matrix instead.
            Assert.Throws<NotSupportedException>(() => { var unused = new StoreEpilogue<float>(output, g.OutputPixels); Gemm.MultiplyPatches(weights, image, g, filters, ref unused); });
            return;
        }
        var store = new StoreEpilogue<float>(output, g.OutputPixels);
        Gemm.MultiplyPatches(weights, image, g, filters, ref store);
        for (int f = 0; f < filters; f++)
            for (int oy = 0; oy < outputHeight; oy++)
                for (int ox = 0; ox < width; ox++)
                {
                    double expected = 0;
                    for (int c = 0; c < channels; c++)
                        for (int ky = 0; ky < kernel; ky++)
                            for (int kx = 0; kx < kernel; kx++)
                            {
                                int y = oy + ky - padTop, x = ox + kx - padLeft;
                                if (y >= 0 && y < height && x >= 0 && x < width)
                                    expected += (double)weights[(f * channels + c) * kernel * kernel + ky * kernel + kx] * image[(c * height + y) * width + x];
                            }
                    float actual = output[f * g.OutputPixels + oy * width + ox];
                    Assert.True(Math.Abs(actual - expected) <= 1e-5 * (1 + Math.Abs(expected)), $"filter {f} at ({oy}, {ox}): {actual}, expected {expected}");
                }
    }

    [Theory]
    [InlineData(3, 7, 7, 3, 1, 1)] // same padding at stride 1: one tap is copied in, the others added as shifted planes
    [InlineData(2, 6, 5, 5, 1, 2)] // a 5×5 same convolution
    [InlineData(2, 7, 7, 3, 2, 1)] // strided: cleared, every tap added
    [InlineData(2, 6, 6, 3, 1, 0)] // valid: the output is smaller than the input
    public void Col2im_writes_the_adjoint_of_im2col_over_whatever_the_image_held(int channels, int height, int width, int kernel, int stride, int pad)
    {
        int outputHeight = (height + 2 * pad - kernel) / stride + 1, outputWidth = (width + 2 * pad - kernel) / stride + 1;
        var g = new ConvGeometry(channels, height, width, kernel, kernel, stride, pad, pad, outputHeight, outputWidth);
        var columns = TestData.Uniform(g.PatchSize * g.OutputPixels, height * 10 + kernel).Select(v => (double)v).ToArray();
        var expected = new double[g.InputSize];
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < kernel; ky++)
                for (int kx = 0; kx < kernel; kx++)
                    for (int oy = 0; oy < outputHeight; oy++)
                        for (int ox = 0; ox < outputWidth; ox++)
                        {
                            int y = oy * stride + ky - pad, x = ox * stride + kx - pad;
                            if (y >= 0 && y < height && x >= 0 && x < width)
                                expected[(c * height + y) * width + x] += columns[((c * kernel + ky) * kernel + kx) * g.OutputPixels + oy * outputWidth + ox];
                        }
        var image = Enumerable.Repeat(double.NaN, g.InputSize).ToArray();
        Convolution.Col2Im<double>(columns, image, g);
        for (int i = 0; i < image.Length; i++)
            Assert.True(Math.Abs(expected[i] - image[i]) <= 1e-12, $"image[{i}] = {image[i]}, expected {expected[i]}");
    }

    [Fact]
    public void Non_finite_values_are_found_at_every_position_of_the_vector_paths_and_tail_and_nothing_else_is()
    {
        // Lengths up to 140 reach the four-vector 512-bit loop (64 values), the 256-bit loop and the scalar tail.
        float[] finite = [0f, -0f, 1f, -2.5f, float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 1.17549435e-38f];
        float[] nonFinite = [float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity,
            BitConverter.UInt32BitsToSingle(0x7F80_0001), BitConverter.UInt32BitsToSingle(0xFFC0_1234)];
        for (int length = 0; length <= 140; length++)
        {
            var values = Enumerable.Range(0, length).Select(i => finite[i % finite.Length]).ToArray();
            Assert.False(Shapes.HasNonFinite(values), $"length {length}: no value is NaN or ±∞");
            for (int at = 0; at < length; at++)
            {
                var bad = nonFinite[(at + length) % nonFinite.Length];
                values[at] = bad;
                Assert.True(Shapes.HasNonFinite(values), $"length {length}: {bad} at {at} not found");
                Assert.False(Shapes.HasNonFinite(values.AsSpan(0, at)), $"length {length}: found before {at}");
                values[at] = finite[at % finite.Length];
            }
        }
    }

    [Fact]
    public void Copy_moves_every_value_of_each_length_and_leaves_the_rest_of_the_destination()
    {
        // Lengths up to 70 reach the 512-bit and 256-bit moves and the scalar tail, in float and double.
        for (int length = 0; length <= 70; length++)
        {
            var source = Enumerable.Range(1, length).Select(i => (float)i).ToArray();
            var destination = Enumerable.Repeat(-1f, length + 3).ToArray();
            Arithmetic.Copy<float>(source, destination);
            Assert.Equal(source.Concat([-1f, -1f, -1f]), destination);
            var doubles = source.Select(v => (double)v).ToArray();
            var doubleDestination = new double[length];
            Arithmetic.Copy<double>(doubles, doubleDestination);
            Assert.Equal(doubles, doubleDestination);
        }
        var error = Assert.Throws<ArgumentException>(() => Arithmetic.Copy<float>(new float[33], new float[32]));
        Assert.Contains("32", error.Message);
        Assert.Contains("33", error.Message);
    }

    [Fact]
    public void Store_writes_each_segment_where_it_belongs_into_small_and_streamed_outputs_alike()
    {
        // An output of StreamingBytes is streamed where a segment is whole 64-byte lines (offsets a multiple of 16
        // floats, lengths 16 and 32) and copied elsewhere (an offset or a length off the lines); a smaller output is
        // always copied. Every case must leave exactly the segment written and its neighbours as they were.
        int large = (int)(Arithmetic.StreamingBytes / sizeof(float));
        foreach (int outputLength in new[] { 4096, large })
        {
            var output = new AlignedBuffer<float>(outputLength);
            var span = output.AsSpan();
            span.Fill(-1);
            foreach (var (at, length) in new[] { (0, 32), (16, 16), (4096 - 32, 32), (40, 32), (96, 20), (1000, 1), (2048, 33) })
            {
                int start = outputLength == large ? large - 8192 + at : at;
                var values = Enumerable.Range(1, length).Select(i => (float)(start + i)).ToArray();
                Arithmetic.Store<float>(values, span, start);
                Assert.Equal(values, span.Slice(start, length).ToArray());
                if (start > 0) Assert.Equal(-1f, span[start - 1]);
                if (start + length < outputLength) Assert.Equal(-1f, span[start + length]);
                span.Slice(start, length).Fill(-1);
            }
            Assert.True(span.IndexOfAnyExcept(-1f) < 0, "a store wrote outside its segment");
        }
        // Doubles (the gradient checks' element) stream by the same whole lines: eight values to a line.
        var doubles = new AlignedBuffer<double>((int)(Arithmetic.StreamingBytes / sizeof(double)));
        var doubleValues = Enumerable.Range(1, 24).Select(i => i / 3.0).ToArray();
        Arithmetic.Store<double>(doubleValues, doubles.AsSpan(), 8);
        Assert.Equal(doubleValues, doubles.AsSpan(8, 24).ToArray());
        Assert.Equal(0.0, doubles.AsSpan()[7]);
        Assert.Equal(0.0, doubles.AsSpan()[32]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Arithmetic.Store<float>(new float[32], new float[40], 16));
    }

    [Fact]
    public unsafe void Aligned_buffers_start_on_a_cache_line_and_hold_exactly_their_length()
    {
        foreach (int length in new[] { 0, 1, 10, 256 * 128, 3_000_001 })
        {
            var buffer = new AlignedBuffer<float>(length);
            var span = buffer.AsSpan();
            Assert.Equal(length, buffer.Length);
            Assert.Equal(length, span.Length);
            fixed (float* start = span) Assert.Equal(0, (nint)start % 64);
            Assert.True(span.IndexOfAnyExcept(0f) < 0, "a new buffer is not zeroed");
            if (length > 0) Assert.Equal(span.Slice(length - 1).ToArray(), buffer.AsSpan(length - 1, 1).ToArray());
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.AsSpan(length, 1));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer<double>(-1));
    }

    [Fact]
    public void A_product_large_enough_to_stream_its_output_matches_a_naive_product_shared_or_not()
    {
        // 1024 × 2048 floats are StreamingBytes: C goes out by non-temporal stores, and with the 64 panels claimed by
        // both cores the caller must see the worker's (fenced before it reports finished); then all on one core.
        foreach (bool shared in new[] { true, false })
        {
            bool before = WorkSharing.Enabled;
            WorkSharing.Enabled = shared;
            try
            {
                CheckProduct<float>(1024, 2048, 48, transposeA: false, transposeB: true, onesColumn: false, 1e-4);
            }
            finally
            {
                WorkSharing.Enabled = before;
            }
        }
    }
}
