using NetDsl.Data;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

public class GeneratedNetworkTests
{
    [Fact]
    public void Constants_and_parameter_layout_follow_from_the_declared_shapes()
    {
        Assert.Equal(784, FashionMlp.InputSize);
        Assert.Equal(10, FashionMlp.OutputSize);
        Assert.Equal(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, FashionMlp.ParameterCount);
        Assert.Equal(784 * 256, FashionMlp.Hidden1WeightLength);
        Assert.Equal(784 * 256, FashionMlp.Hidden1BiasOffset);
        INeuralNetwork network = new FashionMlp();
        int offset = 0;
        foreach (var tensor in network.ParameterTensors)
        {
            Assert.Equal(offset, tensor.Offset);
            Assert.Equal(tensor.Name.EndsWith(".weight"), tensor.WeightDecay);
            offset += tensor.Length;
        }
        Assert.Equal(network.ParameterCount, offset);
        Assert.Equal([256, 784], network.ParameterTensors[0].Shape);
        Assert.Equal(6, SigmoidRegressor.InputSize);
        Assert.Equal(6, SigmoidRegressor.FlatSize);
    }

    [Fact]
    public void Summary_lists_every_layer_with_shape_and_parameters()
    {
        Assert.Equal(["Pixels", "Hidden1", "Act1", "Drop1", "Hidden2", "Act2", "Drop2", "Logits"], FashionMlp.Summary.Select(l => l.Name));
        Assert.Equal(200_960, FashionMlp.Summary[1].ParameterCount);
        Assert.Equal("(2, 3)", SigmoidRegressor.Summary[0].ShapeText);
        Assert.Contains("Total parameters: 235,146", FashionMlp.SummaryTable);
        Assert.Contains("Hidden2 (Dense)", FashionMlp.SummaryTable);
        var network = new FashionMlp();
        Assert.Same(FashionMlp.Summary[4], network.Hidden2);
    }

    [Fact]
    public void Memory_plan_counts_parameters_gradients_adam_state_and_cached_activations()
    {
        var plan = FashionMlp.PlanMemory(128);
        Assert.Equal(235_146L * 4, plan.ParameterBytes);
        Assert.Equal(2 * plan.ParameterBytes, plan.OptimizerStateBytes);
        // Hidden1 and Hidden2 keep output, activation, mask and dZ; Logits keeps output and dZ.
        Assert.Equal(4 * 256 + 4 * 128 + 2 * 10, FashionMlp.ActivationValuesPerSample);
        Assert.Equal((4 * 256 + 4 * 128 + 2 * 10) * 128L * 4, plan.ActivationBytes);
        // A CNN: the convolution (3×6×6) and BatchNorm keep output and gradient each (no patch matrices per sample, no
        // x̂), the pooling (3×3×3) output, gradient and winners, Hidden output, activation, mask and dZ, Out output and dZ.
        Assert.Equal(2 * 108 + 2 * 108 + 3 * 27 + 4 * 5 + 2 * 4, MixedCnn.ActivationValuesPerSample);
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights_and_he_init_has_variance_two_over_fan_in()
    {
        var a = new FashionMlp(seed: 4);
        var b = new FashionMlp(seed: 4);
        Assert.True(a.Parameters.SequenceEqual(b.Parameters));
        Assert.False(a.Parameters.SequenceEqual(new FashionMlp(seed: 5).Parameters));
        var weights = a.Parameters.Slice(FashionMlp.Hidden1WeightOffset, FashionMlp.Hidden1WeightLength).ToArray();
        double mean = weights.Average(w => (double)w);
        double variance = weights.Average(w => (w - mean) * (w - mean));
        // 200,704 samples: the sample variance is within 1% of 2/784 with overwhelming probability.
        Assert.InRange(variance, 2.0 / 784 * 0.99, 2.0 / 784 * 1.01);
        Assert.InRange(mean, -1e-3, 1e-3);
        Assert.All(a.Parameters.Slice(FashionMlp.Hidden1BiasOffset, FashionMlp.Hidden1BiasLength).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Single_prediction_equals_the_matching_row_of_a_batch_prediction()
    {
        var network = new SmallClassifier(seed: 1);
        var inputs = TestData.Uniform(5 * 6, 2);
        var batch = new float[5 * 3];
        network.PredictBatch(inputs, batch);
        var single = new float[3];
        network.Predict(inputs.AsSpan(12, 6), single);
        for (int j = 0; j < 3; j++) Assert.Equal(batch[2 * 3 + j], single[j], 1e-6);
    }

    [Fact]
    public void Separate_networks_train_and_predict_on_separate_threads_at_once()
    {
        // A network's buffers are its own; the kernels keep their scratch per thread, and the second core takes one
        // product at a time (a caller that finds it busy runs both halves itself). So three networks trained on three
        // threads at once must end exactly where one trained alone does.
        var inputs = TestData.Uniform(64 * 784, 71);
        var targets = TestData.OneHot(64, 10, 72);
        float[] TrainAndPredict(Barrier? predictions)
        {
            var network = new FashionMlp(seed: 3);
            var adam = new Adam(1e-3);
            for (int step = 0; step < 30; step++) network.TrainStep(inputs, targets, adam);
            var results = new List<float>(network.Parameters.ToArray());
            // The threads start predicting together (unless one failed before: then the others go on after a minute),
            // and predict long enough to overlap.
            predictions?.SignalAndWait(TimeSpan.FromMinutes(1));
            var batch = new float[64 * 10];
            var single = new float[10];
            for (int repeat = 0; repeat < 50; repeat++)
                foreach (var precision in new[] { InferencePrecision.Float32, InferencePrecision.Int8 })
                {
                    network.InferencePrecision = precision;
                    network.PredictBatch(inputs, batch);
                    network.Predict(inputs.AsSpan(repeat * 784, 784), single);
                    results.AddRange(batch);
                    results.AddRange(single);
                }
            return [.. results];
        }
        var alone = TrainAndPredict(null);
        var together = new float[3][];
        var failures = new Exception?[3];
        using var start = new Barrier(3);
        using var predictions = new Barrier(3);
        // Background threads, waited for with a limit: a deadlock between concurrent products fails the test instead of
        // hanging the run.
        var threads = Enumerable.Range(0, 3).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                together[t] = TrainAndPredict(predictions);
            }
            catch (Exception error)
            {
                failures[t] = error;
            }
        }) { IsBackground = true }).ToArray();
        foreach (var thread in threads) thread.Start();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        var finished = threads.Select(thread => thread.Join(TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks)))).ToArray();
        Assert.All(failures, Assert.Null);
        for (int t = 0; t < 3; t++) Assert.True(finished[t], $"thread {t} did not finish within two minutes (about a second alone)");
        // The same arithmetic in the same order whichever core computes a piece: the same bits.
        for (int t = 0; t < 3; t++)
            for (int i = 0; i < alone.Length; i++)
                Assert.True(alone[i] == together[t][i], $"thread {t}, value {i}: {together[t][i]}, alone {alone[i]}");
    }

    [Fact]
    public void A_wrong_length_names_both_shapes()
    {
        var network = new SmallClassifier();
        var error = Assert.Throws<ArgumentException>(() => network.Predict(new float[5], new float[3]));
        Assert.Contains("5 values", error.Message);
        Assert.Contains("(6)", error.Message);
        error = Assert.Throws<ArgumentException>(() => network.PredictBatch(new float[13], new float[6]));
        Assert.Contains("13 values", error.Message);
        error = Assert.Throws<ArgumentException>(() => network.TrainStep(new float[12], new float[5], new Sgd(0.1)));
        Assert.Contains("targets holds 5 values but 2 samples of shape (3) need 6", error.Message);
    }

    [Fact]
    public void Float_and_double_passes_agree()
    {
        var network = new SmallClassifier(seed: 8) { DropoutEnabled = false };
        var x = TestData.Uniform(6 * 6, 3);
        var y = TestData.OneHot(6, 3, 4);
        float loss = network.ComputeGradients(x, y);
        var gradients = new double[SmallClassifier.ParameterCount];
        double reference = network.ComputeGradients(network.Parameters.ToArray().Select(v => (double)v).ToArray(),
            x.Select(v => (double)v).ToArray(), y.Select(v => (double)v).ToArray(), gradients);
        Assert.Equal(reference, loss, 1e-5);
        for (int i = 0; i < gradients.Length; i++) Assert.Equal(gradients[i], network.Gradients[i], 1e-5);
    }

    [Fact]
    public void Regularization_adds_its_penalty_to_weights_only()
    {
        var network = new SmallClassifier(seed: 8) { DropoutEnabled = false };
        var x = TestData.Uniform(4 * 6, 3);
        var y = TestData.OneHot(4, 3, 4);
        float plain = network.ComputeGradients(x, y);
        var plainGradients = network.Gradients.ToArray();
        network.Regularization = Regularization.ElasticNet(0.2, 0.6);
        float penalized = network.ComputeGradients(x, y);
        var theta = network.Parameters.ToArray();
        double absolute = 0, squares = 0;
        foreach (var tensor in ((INeuralNetwork)network).ParameterTensors)
            for (int i = tensor.Offset; i < tensor.Offset + tensor.Length; i++)
            {
                double expected = plainGradients[i] + (tensor.WeightDecay ? 0.2 / 4 * Math.Sign(theta[i]) + 0.6 / 4 * theta[i] : 0);
                Assert.Equal(expected, network.Gradients[i], 1e-6);
                if (tensor.WeightDecay) { absolute += Math.Abs(theta[i]); squares += theta[i] * (double)theta[i]; }
            }
        Assert.Equal(plain + (0.2 * absolute + 0.6 * squares / 2) / 4, penalized, 1e-4);
    }

    [Fact]
    public void Dropout_changes_training_passes_only()
    {
        var network = new SmallClassifier(seed: 2);
        var x = TestData.Uniform(8 * 6, 3);
        var y = TestData.OneHot(8, 3, 4);
        float first = network.ComputeGradients(x, y);
        float second = network.ComputeGradients(x, y);
        Assert.NotEqual(first, second); // a new mask each step
        network.DropoutEnabled = false;
        Assert.Equal(network.ComputeGradients(x, y), network.ComputeGradients(x, y));
        Assert.Equal(network.EvaluateLoss(x, y), network.ComputeGradients(x, y), 1e-6);
    }

    [Fact]
    public void Training_fits_a_small_regression()
    {
        var network = new TinyTanh(seed: 3);
        var x = TestData.Uniform(64 * 4, 5);
        var y = new float[64 * 4];
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < 4; j++) y[i * 4 + j] = 0.5f * MathF.Sin(x[i * 4 + j] * 2 + x[i * 4 + (j + 1) % 4]);
        float initial = network.EvaluateLoss(x, y);
        var adam = new Adam(0.01);
        for (int step = 0; step < 500; step++) network.TrainStep(x, y, adam);
        Assert.True(network.EvaluateLoss(x, y) < initial / 20, $"loss {initial} → {network.EvaluateLoss(x, y)}");
    }

    [Fact]
    public void A_nan_loss_stops_training_with_the_step_and_the_layer()
    {
        var network = new SmallClassifier(seed: 1);
        var features = TestData.Uniform(20 * 6, 1);
        features[7] = float.NaN; // sample 1 carries a NaN into the first product
        var data = new Dataset(features, Enumerable.Range(0, 20).Select(i => i % 3).ToArray(), [6], 3);
        var error = Assert.Throws<TrainingDivergedException>(() =>
            Trainer.Fit(network, new Sgd(0.1), data, null, new TrainingOptions { Epochs = 1, BatchSize = 5 }));
        Assert.Equal("Hidden1", error.Layer);
        Assert.InRange(error.Step, 1, 4);
        Assert.Contains($"step {error.Step}", error.Message);
        Assert.Contains("'Hidden1'", error.Message);
    }

    [Fact]
    public void Restoring_the_best_dev_weights_puts_back_the_best_epoch()
    {
        var network = new SmallClassifier(seed: 1);
        var random = new Rng(3);
        var labels = Enumerable.Range(0, 60).Select(_ => random.NextInt(3)).ToArray();
        var features = TestData.Uniform(60 * 6, 2);
        var train = new Dataset(features[..(40 * 6)], labels[..40], [6], 3);
        var dev = new Dataset(features[(40 * 6)..], labels[40..], [6], 3);
        var history = Trainer.Fit(network, new Adam(0.05), train, dev,
            new TrainingOptions { Epochs = 6, BatchSize = 8, RestoreBestWeights = true });
        var best = history.Epochs.MaxBy(e => e.DevAccuracy)!;
        Assert.Equal(best.Epoch, history.BestEpoch);
        Assert.Equal(best.DevAccuracy!.Value, Metrics.Evaluate(network, dev).Accuracy, 12);
    }
}

public class DivergenceTests
{
    [Fact]
    public void A_diverging_first_step_stops_training_there_without_touching_theta()
    {
        var network = new TinyTanh(seed: 1);
        // Huge weights in the last layer overflow the outputs, the loss and its gradient.
        network.Parameters[TinyTanh.YWeightOffset] = float.MaxValue;
        network.Parameters[TinyTanh.YWeightOffset + 1] = float.MaxValue;
        var data = new NetDsl.Data.Dataset(TestData.Uniform(8 * 4, 2), Enumerable.Range(0, 8).Select(i => i % 4).ToArray(), [4], 4);
        var before = network.Parameters.ToArray();
        var error = Assert.Throws<TrainingDivergedException>(() =>
            Trainer.Fit(network, new Sgd(0.1), data, null, new TrainingOptions { Epochs = 1, BatchSize = 8 }));
        Assert.Equal(1, error.Step);
        Assert.True(before.AsSpan().SequenceEqual(network.Parameters)); // θ was not updated with the bad gradient
    }
}

public class DropoutRateTests
{
    [Fact]
    public void Dropout_rates_start_declared_and_can_be_changed_at_run_time()
    {
        var network = new SmallClassifier(seed: 1);
        INeuralNetwork view = network;
        Assert.Equal(["Drop1", "Drop2"], view.DropoutLayers);
        Assert.Equal([0.3, 0.1], network.DropoutRates.ToArray());
        var x = TestData.Uniform(4 * 6, 1);
        var y = TestData.OneHot(4, 3, 2);
        network.DropoutRates.Clear(); // rate 0 keeps everything: training equals the dropout-free pass
        float withZeroRate = network.ComputeGradients(x, y);
        network.DropoutEnabled = false;
        Assert.Equal(network.ComputeGradients(x, y), withZeroRate, 6);
        network.DropoutEnabled = true;
        network.DropoutRates[0] = 1.5;
        Assert.Throws<ArgumentOutOfRangeException>(() => network.ComputeGradients(x, y));
    }
}
