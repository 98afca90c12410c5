using NetDsl.Kernels;
using NetDsl.Optimizers;
using Xunit;

namespace NetDsl.Tests;

/// <summary>Float predictions of a few rows read Dense weights input by input (<see cref="InputMajorDense"/>): the product
/// against a double-precision one, each output element handed over exactly once, and the generated networks' use of the
/// copy (its rows agree with a batch taken by <see cref="Gemm"/>; it follows θ and the folding setting).</summary>
public class InputMajorTests
{
    /// <summary>Shapes for each path: one row of the sample's first layer (two runs of units, shared between the cores),
    /// the logits layer (a single vector), runs with leftover vectors, a product shared over three runs, one weight.</summary>
    [Theory]
    [InlineData(256, 784, 1)]
    [InlineData(10, 128, 3)]
    [InlineData(150, 30, 7)]
    [InlineData(300, 501, 2)]
    [InlineData(1, 1, 1)]
    [InlineData(17, 3, 5)]
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

    /// <summary>Rows of a batch pass over the weights two at a time; each row's sums must still come out exactly as
    /// when the row is multiplied alone, whatever its place in the batch (the same order of additions).</summary>
    [Fact]
    public void A_row_gives_the_same_bits_alone_and_paired_in_a_batch()
    {
        const int units = 300, inputs = 97, batch = 5; // two whole runs and a leftover; two pairs and a single row
        var layer = new InputMajorDense(units, inputs);
        layer.Load(TestData.Uniform(units * inputs, 11));
        var x = TestData.Uniform(batch * inputs, 12);
        foreach (var width in Widths())
        {
            var together = new float[batch * units];
            var store = new StoreEpilogue<float>(together, units);
            InputMajorGemm.Multiply<float, StoreEpilogue<float>>(x, layer, batch, ref store, width);
            for (int r = 0; r < batch; r++)
            {
                var alone = new float[units];
                var one = new StoreEpilogue<float>(alone, units);
                InputMajorGemm.Multiply<float, StoreEpilogue<float>>(x.AsSpan(r * inputs, inputs), layer, 1, ref one, width);
                Assert.Equal(alone, together.AsSpan(r * units, units).ToArray());
            }
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

    /// <summary>Rows predicted one, three and seven at a time take the input-major copy; eight and more take the product
    /// of the whole batch. Both must give the same outputs to within float rounding.</summary>
    [Fact]
    public void A_few_rows_predict_as_a_batch_does()
    {
        var network = new FashionSizedMlp(seed: 4);
        var x = TestData.Uniform(16 * 784, 5, 0, 1);
        var batch = new float[16 * 10];
        network.PredictBatch(x, batch);
        foreach (int rows in new[] { 1, 3, 7 })
            for (int first = 0; first + rows <= 16; first += rows)
            {
                var few = new float[rows * 10];
                network.PredictBatch(x.AsSpan(first * 784, rows * 784), few);
                AssertClose(batch.AsSpan(first * 10, rows * 10), few, $"rows {first}..{first + rows - 1}");
            }
    }

    /// <summary>The copy is made again whenever θ may have changed (a training step, a write through
    /// <c>Parameters</c>) and when BatchNorm folding is switched, since the copy holds W′ or W as folding was set.</summary>
    [Fact]
    public void The_copy_follows_training_writes_and_the_folding_setting()
    {
        var network = new SmallClassifier(seed: 1);
        var x = TestData.Uniform(8 * SmallClassifier.InputSize, 2);
        AssertOneRowAsBatch(network, x, SmallClassifier.InputSize, 3, "fresh");
        network.TrainStep(x, TestData.OneHot(8, 3, 3), new Adam(0.05));
        AssertOneRowAsBatch(network, x, SmallClassifier.InputSize, 3, "after a training step");
        network.Parameters[0] += 0.75f;
        AssertOneRowAsBatch(network, x, SmallClassifier.InputSize, 3, "after a write to the parameters");

        var normalized = new DenseNorm(seed: 2).WithSpreadStatistics();
        var z = TestData.Uniform(8 * 5, 8);
        AssertOneRowAsBatch(normalized, z, 5, 4, "folded");
        normalized.FoldBatchNormAtInference = false;
        AssertOneRowAsBatch(normalized, z, 5, 4, "unfolded after folded");
        normalized.FoldBatchNormAtInference = true;
        AssertOneRowAsBatch(normalized, z, 5, 4, "folded again");
    }

    /// <summary>Row 0 predicted alone against the same row within a batch of eight (the whole-batch product).</summary>
    static void AssertOneRowAsBatch(INeuralNetwork network, float[] x, int inputs, int outputs, string when)
    {
        var batch = new float[8 * outputs];
        network.PredictBatch(x, batch);
        var one = new float[outputs];
        network.PredictBatch(x.AsSpan(0, inputs), one);
        AssertClose(batch.AsSpan(0, outputs), one, when);
    }

    static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])),
                $"{what}, output {i}: {actual[i]} against {expected[i]}");
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
