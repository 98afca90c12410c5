using NetDsl.Kernels;
using NetDsl.Optimizers;
using Xunit;

namespace NetDsl.Tests;

/// <summary>Float predictions of a few rows read Dense weights input by input (<see cref="InputMajorDense"/>): the product
/// against a double-precision one, each output element handed over exactly once, and the generated networks' use of the
/// copy (its rows are the same bits as in a batch taken by <see cref="Gemm"/>; it follows θ and the folding setting).</summary>
public class InputMajorTests
{
    /// <summary>Shapes for each path: one row of the sample's first layer (two runs of units, shared between the cores),
    /// the logits layer (a single vector), runs with leftover vectors, a product shared over three runs, one weight;
    /// then eight-row tiles: with pairs and a single row after them, over a run's odd vector, one run split by rows (at a
    /// tile, and at a pair).</summary>
    [Theory]
    [InlineData(256, 784, 1)]
    [InlineData(10, 128, 3)]
    [InlineData(150, 30, 7)]
    [InlineData(300, 501, 2)]
    [InlineData(1, 1, 1)]
    [InlineData(17, 3, 5)]
    [InlineData(256, 784, 11)]
    [InlineData(300, 97, 15)]
    [InlineData(40, 33, 9)]
    [InlineData(128, 200, 24)]
    [InlineData(128, 1000, 5)]
    public void Products_match_the_double_precision_product_and_reach_the_epilogue_once(int units, int inputs, int batch)
    {
        var weights = TestData.Uniform(units * inputs, units + inputs, -0.5, 0.5);
        var x = TestData.Uniform(batch * inputs, 3, -2, 2);
        var layer = new InputMajorDense(units, inputs);
        layer.Load(weights);
        foreach (var width in Widths())
        {
            var y = new float[batch * units];
            Array.Fill(y, float.NaN);
            var counts = new int[batch * units];
            var epilogue = new StoreAndCount(y, counts, units);
            InputMajorGemm.Multiply<float, StoreAndCount>(x, layer, batch, ref epilogue, width);
            AssertProduct(weights, x, y, counts, units, inputs, batch, width);
        }
    }

    /// <summary>Every vector width this machine runs: 512 and 256 bits where accelerated, and the scalar form.</summary>
    static IEnumerable<InputMajorGemm.Width> Widths()
    {
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) yield return InputMajorGemm.Width.Vector512;
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) yield return InputMajorGemm.Width.Vector256;
        yield return InputMajorGemm.Width.Scalar;
    }

    static void AssertProduct(float[] weights, float[] x, float[] y, int[] counts, int units, int inputs, int batch, InputMajorGemm.Width width)
    {
        for (int r = 0; r < batch; r++)
            for (int u = 0; u < units; u++)
            {
                double exact = 0, magnitude = 0;
                for (int i = 0; i < inputs; i++)
                {
                    double term = (double)weights[u * inputs + i] * x[r * inputs + i];
                    exact += term;
                    magnitude += Math.Abs(term);
                }
                // Each of the inputs' rounded additions is off by at most half a float step of the running sum.
                double bound = inputs * 6e-8 * magnitude + 1e-12;
                Assert.True(Math.Abs(y[r * units + u] - exact) <= bound, $"{width}, row {r} unit {u}: {y[r * units + u]} against {exact}");
                Assert.True(counts[r * units + u] == 1, $"{width}, row {r} unit {u} handed over {counts[r * units + u]} times");
            }
    }

    /// <summary>Rows of a batch pass over the weights eight or two at a time, or alone; each row's sums must still come out
    /// exactly as when the row is multiplied alone, whatever its place in the batch, and exactly as <see cref="Gemm"/>'s
    /// packed product of the whole batch gives them (another code path over W as the layer stores it, with the same order
    /// of additions).</summary>
    [Fact]
    public void A_row_gives_the_same_bits_alone_in_any_batch_and_in_the_packed_product()
    {
        const int units = 300, inputs = 97, batch = 19; // two whole runs and one of three vectors; two tiles, a pair, one row
        var weights = TestData.Uniform(units * inputs, 11);
        var layer = new InputMajorDense(units, inputs);
        layer.Load(weights);
        var x = TestData.Uniform(batch * inputs, 12);
        var packed = new float[batch * units];
        var reference = new StoreEpilogue<float>(packed, units);
        Gemm.Multiply<float, StoreEpilogue<float>>(x, false, weights, true, batch, units, inputs, ref reference);
        foreach (var width in Widths())
            foreach (int rows in new[] { 1, 2, 5, 9, batch })
                for (int first = 0; first + rows <= batch; first += rows)
                {
                    var some = new float[rows * units];
                    var store = new StoreEpilogue<float>(some, units);
                    InputMajorGemm.Multiply<float, StoreEpilogue<float>>(x.AsSpan(first * inputs, rows * inputs), layer, rows, ref store, width);
                    AssertSameBits(packed.AsSpan(first * units, some.Length), some, $"{width}, rows {first}..{first + rows - 1}");
                }
    }

    [Fact]
    public void Each_weight_is_stored_input_by_input_and_wrong_lengths_name_both_shapes()
    {
        // 37 × 50: whole 16 × 16 blocks (transposed in registers) and the partial ones at both edges.
        var weights = TestData.Uniform(37 * 50, 1);
        var wide = new InputMajorDense(37, 50);
        wide.Load(weights);
        for (int u = 0; u < 37; u++)
            for (int i = 0; i < 50; i++)
                Assert.True(weights[u * 50 + i] == wide.Weight(u, i), $"unit {u} input {i}");
        var layer = new InputMajorDense(7, 5);
        var error = Assert.Throws<ArgumentException>(() => layer.Load(new float[34]));
        Assert.Contains("34", error.Message);
        Assert.Contains("(7, 5)", error.Message);
        error = Assert.Throws<ArgumentException>(() =>
        {
            var store = new StoreEpilogue<float>(new float[14], 7);
            InputMajorGemm.Multiply<float, StoreEpilogue<float>>(new float[9], layer, 2, ref store);
        });
        Assert.Contains("9", error.Message);
        Assert.Contains("2 × (5)", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InputMajorDense(3, 0));
    }

    /// <summary>A copy of up to 1 MiB serves predictions of up to 31 rows; a larger one (the Fashion CNN's 3136-input
    /// layer, 1.6 MB) up to 15, beyond which <see cref="Gemm"/>'s packed panels win.</summary>
    [Fact]
    public void Large_copies_serve_fewer_rows()
    {
        Assert.Equal(InputMajorGemm.RowLimit, new InputMajorDense(256, 784).RowLimit);
        Assert.Equal(InputMajorGemm.RowLimit, new InputMajorDense(256, 1024).RowLimit); // exactly 1 MiB
        Assert.Equal(InputMajorGemm.RowLimit / 2, new InputMajorDense(256, 1025).RowLimit);
        Assert.Equal(InputMajorGemm.RowLimit / 2, new InputMajorDense(128, 3136).RowLimit);
    }

    /// <summary>Rows predicted 1, 3, 7, 8, 13, 20 and 31 at a time take the input-major copy; a batch of
    /// <see cref="InputMajorGemm.RowLimit"/> or more takes <see cref="Gemm"/> on θ itself. A row's prediction is the same
    /// bits either way: in the sample-sized MLP, with BatchNorm folded into a Dense layer and not, behind convolutions
    /// and pooling, with residual connections, with every pointwise activation (ELU, SELU, sigmoid and tanh among them),
    /// PReLU and Maxout; and in int8, where every batch takes the integer products (exact sums, each row quantized
    /// alone).</summary>
    [Theory]
    [InlineData("mlp")]
    [InlineData("folded")]
    [InlineData("unfolded")]
    [InlineData("cnn")]
    [InlineData("strided")]
    [InlineData("pooled")]
    [InlineData("residual")]
    [InlineData("zoo")]
    [InlineData("tagger")]
    [InlineData("parametric")]
    [InlineData("int8")]
    public void A_row_predicts_the_same_bits_in_any_batch(string name)
    {
        INeuralNetwork network = name switch
        {
            "mlp" => new FashionMlp(seed: 4),
            "folded" => new DenseNorm(seed: 2).WithSpreadStatistics(),
            "unfolded" => new DenseNorm(seed: 2) { FoldBatchNormAtInference = false }.WithSpreadStatistics(),
            "cnn" => new MixedCnn(seed: 3),
            "strided" => new StridedCnn(seed: 5),
            "pooled" => new PooledCnn(seed: 7),
            "zoo" => new ActivationZoo(seed: 8),
            "tagger" => new BinaryTagger(seed: 9),
            "parametric" => new ParametricNet(seed: 10),
            "int8" => new FashionMlp(seed: 4) { InferencePrecision = InferencePrecision.Int8 },
            _ => new ResidualCnn(seed: 6),
        };
        int inputs = network.InputSize, outputs = network.OutputSize;
        const int total = 2 * InputMajorGemm.RowLimit;
        var x = TestData.Uniform(total * inputs, 5, 0, 1);
        var batch = new float[total * outputs];
        network.PredictBatch(x, batch);
        foreach (int rows in new[] { 1, 3, 7, 8, 13, 20, 31 })
            for (int first = 0; first + rows <= total; first += rows)
            {
                var few = new float[rows * outputs];
                network.PredictBatch(x.AsSpan(first * inputs, rows * inputs), few);
                AssertSameBits(batch.AsSpan(first * outputs, rows * outputs), few, $"rows {first}..{first + rows - 1}");
            }
    }

    /// <summary>The copy is made again whenever θ may have changed (a training step, a write through
    /// <c>Parameters</c>) and when BatchNorm folding is switched, since the copy holds W′ or W as folding was set.</summary>
    [Fact]
    public void The_copy_follows_training_writes_and_the_folding_setting()
    {
        var network = new SmallClassifier(seed: 1);
        var x = TestData.Uniform(InputMajorGemm.RowLimit * SmallClassifier.InputSize, 2);
        AssertOneRowAsBatch(network, x, SmallClassifier.InputSize, 3, "fresh");
        network.TrainStep(x, TestData.OneHot(InputMajorGemm.RowLimit, 3, 3), new Adam(0.05));
        AssertOneRowAsBatch(network, x, SmallClassifier.InputSize, 3, "after a training step");
        network.Parameters[0] += 0.75f;
        AssertOneRowAsBatch(network, x, SmallClassifier.InputSize, 3, "after a write to the parameters");

        var normalized = new DenseNorm(seed: 2).WithSpreadStatistics();
        var z = TestData.Uniform(InputMajorGemm.RowLimit * 5, 8);
        AssertOneRowAsBatch(normalized, z, 5, 4, "folded");
        normalized.FoldBatchNormAtInference = false;
        AssertOneRowAsBatch(normalized, z, 5, 4, "unfolded after folded");
        normalized.FoldBatchNormAtInference = true;
        AssertOneRowAsBatch(normalized, z, 5, 4, "folded again");
    }

    /// <summary>Row 0 predicted alone against the same row within a batch that <see cref="Gemm"/> takes on θ itself.</summary>
    static void AssertOneRowAsBatch(INeuralNetwork network, float[] x, int inputs, int outputs, string when)
    {
        var batch = new float[InputMajorGemm.RowLimit * outputs];
        network.PredictBatch(x, batch);
        var one = new float[outputs];
        network.PredictBatch(x.AsSpan(0, inputs), one);
        AssertSameBits(batch.AsSpan(0, outputs), one, when);
    }

    /// <summary>Bit for bit, so that −0 against +0 (or one NaN against another) counts as a difference too.</summary>
    static void AssertSameBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(actual[i]) == BitConverter.SingleToInt32Bits(expected[i]),
                $"{what}, value {i}: {actual[i]} against {expected[i]}");
    }

    ref struct StoreAndCount(Span<float> output, Span<int> counts, int columns) : IGemmEpilogue<float>
    {
        readonly Span<float> output = output;
        readonly Span<int> counts = counts;

        public readonly void Apply(int row, int column, scoped Span<float> values)
        {
            for (int j = 0; j < values.Length; j++)
            {
                output[row * columns + column + j] = values[j];
                Interlocked.Increment(ref counts[row * columns + column + j]);
            }
        }
    }
}
