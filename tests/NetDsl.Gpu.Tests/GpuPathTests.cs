using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Gpu.Tests;

/// <summary>One CPU accelerator for the whole class: its kernels compile once.</summary>
public sealed class SimulatedDevice : IDisposable
{
    public GpuDevice Device { get; } = GpuDevice.Create(GpuBackend.Cpu);

    public void Dispose() => Device.Dispose();
}

/// <summary>Every generated GPU kernel against the CPU path of the same network, on ILGPU's CPU accelerator: forward
/// outputs and gradients within 1e-4 relative, a few training steps within 1e-3.</summary>
public sealed class GpuPathTests(SimulatedDevice simulated) : IClassFixture<SimulatedDevice>
{
    readonly GpuDevice device = simulated.Device;

    static float[] Uniform(int count, int seed, double low = -1, double high = 1)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(low + (high - low) * random.NextDouble())).ToArray();
    }

    static float[] OneHot(int batch, int classes, int seed)
    {
        var random = new Random(seed);
        var targets = new float[batch * classes];
        for (int s = 0; s < batch; s++) targets[s * classes + random.Next(classes)] = 1;
        return targets;
    }

    /// <summary>Each value within <paramref name="relative"/> of the reference, measured against the tensor's largest
    /// reference magnitude (a value near zero in a tensor of ones is compared at the tensor's scale).</summary>
    static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * Math.Max(scale, 1e-6),
                $"{what}[{i}]: CPU {expected[i]}, GPU {actual[i]} (scale {scale})");
    }

    static void AssertTensorsClose(INeuralNetwork network, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double relative)
    {
        foreach (var tensor in network.ParameterTensors)
            AssertClose(expected.Slice(tensor.Offset, tensor.Length), actual.Slice(tensor.Offset, tensor.Length), relative, tensor.Name);
    }

    /// <summary>Each network with its fused passes (one kernel per pass, tiles in shared memory) and without (a tiled
    /// product per layer).</summary>
    public static TheoryData<string, bool> Networks => new()
    {
        { "classifier", true }, { "classifier", false }, { "regressor", true }, { "regressor", false }, { "tagger", true }, { "tagger", false },
        { "cnn", false }, { "normed", false }, { "residual", false }, { "attention", false }, { "ceil", false }, { "sequence", false }, { "tokens", false }, { "concat", false }, { "projected", false }, { "input-projected", false },
    };

    static (INeuralNetwork Network, Func<GpuDevice, GpuNetwork> ToGpu, float[] Inputs, float[] Targets) Create(string name, int batch, int seed)
    {
        switch (name)
        {
            case "classifier":
            {
                var net = new GpuClassifier(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 6, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "regressor":
            {
                var net = new GpuRegressor(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 5, seed + 1), Uniform(batch * 4, seed + 2, 0, 1));
            }
            case "cnn":
            {
                var net = new GpuCnn(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 162, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "attention":
            {
                var net = new GpuAttention(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 5, seed + 1), Uniform(batch * 4, seed + 2, 0, 0.5));
            }
            case "ceil":
            {
                var net = new GpuCeilPool(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 98, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "input-projected":
            {
                var net = new GpuInputProjection(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 72, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "projected":
            {
                var net = new GpuProjected(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 72, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "concat":
            {
                var net = new GpuConcat(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 50, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "tokens":
            {
                var net = new GpuTokens(seed);
                // Ids: whole numbers below the vocabulary of 7, repeating across positions and samples.
                return (net, d => net.ToGpu(d), Uniform(batch * 5, seed + 1, 0, 7).Select(MathF.Floor).ToArray(), OneHot(batch, 3, seed + 2));
            }
            case "sequence":
            {
                var net = new GpuSequence(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 48, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "residual":
            {
                var net = new GpuResidual(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 50, seed + 1), OneHot(batch, 3, seed + 2));
            }
            case "normed":
            {
                var net = new GpuNormedMlp(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 6, seed + 1), Uniform(batch * 2, seed + 2));
            }
            default:
            {
                var net = new GpuTagger(seed);
                return (net, d => net.ToGpu(d), Uniform(batch * 7, seed + 1), Uniform(batch * 3, seed + 2, 0, 1).Select(v => v > 0.5f ? 1f : 0f).ToArray());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Predictions_match_the_CPU_path(string name, bool fused)
    {
        var (cpu, toGpu, inputs, targets) = Create(name, batch: 37, seed: fused ? 3 : 4);
        // One training pass first moves BatchNorm's running statistics away from (0, 1), which inference then uses (the
        // CPU folds them into the product before; the GPU normalizes with them).
        cpu.ComputeGradients(inputs, targets);
        using var gpu = toGpu(device);
        Assert.Equal(name is not ("cnn" or "normed" or "residual" or "attention" or "ceil" or "sequence" or "tokens" or "concat" or "projected" or "input-projected"), gpu.HasFusedPasses);
        gpu.FusedPasses = fused;
        var expected = new float[37 * cpu.OutputSize];
        var actual = new float[expected.Length];
        cpu.PredictBatch(inputs, expected);
        // Other inputs first, so no buffer still holds the right answer from an earlier network on the same memory.
        gpu.PredictBatch(inputs.Select(v => name == "tokens" ? 6 - v : 2 - v).ToArray(), actual);
        gpu.PredictBatch(inputs, actual);
        AssertClose(expected, actual, 1e-4, "output");
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Gradients_match_the_CPU_path_with_dropout_and_regularization(string name, bool fused)
    {
        // Twins from one seed draw the same dropout masks: the counter-based generator runs in the kernels too.
        // 70 samples: two full tiles of the fused passes and a partial third.
        var (cpu, toGpu, inputs, targets) = Create(name, batch: 70, seed: 5);
        cpu.Regularization = new Regularization(l1: 0.01, l2: 0.03);
        using var gpu = toGpu(device);
        gpu.FusedPasses = fused;
        float expectedLoss = cpu.ComputeGradients(inputs, targets);
        float actualLoss = gpu.ComputeGradients(inputs, targets);
        Assert.True(Math.Abs(expectedLoss - actualLoss) <= 1e-4 * Math.Abs(expectedLoss), $"loss: CPU {expectedLoss}, GPU {actualLoss}");
        var gradients = new float[cpu.ParameterCount];
        gpu.DownloadGradients(gradients);
        AssertTensorsClose(cpu, cpu.Gradients, gradients, 1e-4);
    }

    [Fact]
    public void The_dropout_masks_are_the_CPU_masks()
    {
        // With dropout off on one side only the gradients must differ: the comparison above is not vacuous.
        var (cpu, toGpu, inputs, targets) = Create("classifier", batch: 16, seed: 9);
        using var gpu = toGpu(device);
        cpu.DropoutEnabled = false;
        cpu.ComputeGradients(inputs, targets);
        var withoutDropout = cpu.Gradients.ToArray();
        cpu.DropoutEnabled = true;
        gpu.ComputeGradients(inputs, targets);
        var gradients = new float[cpu.ParameterCount];
        gpu.DownloadGradients(gradients);
        double largest = withoutDropout.Zip(gradients, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(largest > 1e-3, $"dropout changed no gradient by more than {largest}");
    }

    public static TheoryData<string, string> Optimizers => new()
    {
        { "classifier", "adam" }, { "classifier", "sgd" }, { "regressor", "momentum" }, { "regressor", "nesterov" }, { "tagger", "adamw" },
        { "classifier", "adagrad" }, { "regressor", "rmsprop" }, { "tagger", "adadelta" }, { "cnn", "adam" }, { "normed", "momentum" }, { "residual", "rmsprop" }, { "attention", "adam" },
        { "tokens", "adamw" }, { "concat", "momentum" }, { "projected", "adam" },
    };

    static IOptimizer Optimizer(string name) => name switch
    {
        "adam" => new Adam(0.01),
        "sgd" => new Sgd(0.1),
        "momentum" => new Momentum(0.5, 0.9),
        "nesterov" => new Nesterov(0.05, 0.8),
        "adagrad" => new AdaGrad(0.05),
        "rmsprop" => new RmsProp(0.01, 0.8),
        "adadelta" => new AdaDelta(1.0, 0.9),
        _ => new AdamW(0.01, weightDecay: 0.1),
    };

    [Fact]
    public void An_id_outside_the_vocabulary_is_refused_on_the_host_before_any_kernel_runs()
    {
        var (_, toGpu, inputs, targets) = Create("tokens", batch: 4, seed: 2);
        using var gpu = toGpu(device);
        inputs[7] = 7;
        Assert.Contains("Sample 1, position 2: 7 is not an id in [0, 7)", Assert.Throws<ArgumentException>(() => gpu.ComputeGradients(inputs, targets)).Message);
        Assert.Contains("Sample 1, position 2", Assert.Throws<ArgumentException>(() => gpu.PredictBatch(inputs, new float[4 * 3])).Message);
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Training_steps_match_the_CPU_path(string name, string optimizer)
    {
        var (cpu, toGpu, inputs, targets) = Create(name, batch: 24, seed: 7);
        using var gpu = toGpu(device);
        var initial = cpu.Parameters.ToArray();
        var cpuOptimizer = Optimizer(optimizer);
        var gpuOptimizer = Optimizer(optimizer);
        var cpuLosses = new List<float>();
        var gpuLosses = new List<float>();
        for (int step = 0; step < 5; step++)
        {
            cpuLosses.Add(cpu.TrainStep(inputs, targets, cpuOptimizer));
            gpuLosses.Add(gpu.TrainStep(inputs, targets, gpuOptimizer));
        }
        AssertClose(cpuLosses.ToArray(), gpuLosses.ToArray(), 1e-3, "loss");
        var expected = cpu.Parameters.ToArray();
        var expectedStatistics = cpu.RunningStatistics.ToArray();
        gpu.Download();
        AssertTensorsClose(cpu, expected, cpu.Parameters, 1e-3);
        AssertClose(expectedStatistics, cpu.RunningStatistics, 1e-3, "running statistics");
        // The steps moved θ well beyond the tolerance, so agreement is not agreement on the starting point.
        Assert.True(expected.Zip(initial, (a, b) => Math.Abs(a - b)).Max() > 1e-2);
    }

    [Fact]
    public void Training_on_the_device_lowers_the_loss()
    {
        var (cpu, toGpu, inputs, targets) = Create("classifier", batch: 64, seed: 11);
        cpu.DropoutEnabled = false;
        using var gpu = toGpu(device);
        var optimizer = new Adam(0.02);
        float first = gpu.TrainStep(inputs, targets, optimizer);
        float last = first;
        for (int step = 0; step < 60; step++) last = gpu.TrainStep(inputs, targets, optimizer);
        Assert.True(last < 0.7 * first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void A_larger_batch_grows_the_buffers_and_a_smaller_one_reuses_them()
    {
        var (cpu, toGpu, inputs, _) = Create("regressor", batch: 40, seed: 13);
        using var gpu = toGpu(device);
        var small = inputs.AsSpan(0, 5 * 5).ToArray();
        var expected = new float[5 * 4];
        var actual = new float[5 * 4];
        gpu.PredictBatch(small, actual);
        Assert.Equal(5, gpu.Capacity);
        gpu.PredictBatch(inputs, new float[40 * 4]);
        Assert.Equal(40, gpu.Capacity);
        gpu.PredictBatch(small, actual);
        Assert.Equal(40, gpu.Capacity);
        cpu.PredictBatch(small, expected);
        AssertClose(expected, actual, 1e-4, "output");
    }

    [Fact]
    public void Kernels_compile_once_per_device()
    {
        var (_, toGpu, inputs, targets) = Create("tagger", batch: 8, seed: 17);
        using (var first = toGpu(device)) first.TrainStep(inputs, targets, new Adam());
        var compiled = device.CompileTime;
        Assert.True(compiled > TimeSpan.Zero);
        using (var second = toGpu(device)) second.TrainStep(inputs, targets, new Adam());
        Assert.Equal(compiled, device.CompileTime);
    }

    [Fact]
    public void A_non_finite_input_leaves_the_parameters_untouched()
    {
        var (cpu, toGpu, inputs, targets) = Create("regressor", batch: 6, seed: 19);
        using var gpu = toGpu(device);
        var before = cpu.Parameters.ToArray();
        inputs[3] = float.NaN;
        float loss = gpu.TrainStep(inputs, targets, new Sgd(0.1));
        Assert.True(float.IsNaN(loss));
        Assert.False(gpu.GradientsFinite);
        gpu.Download();
        Assert.Equal(before, cpu.Parameters.ToArray());
    }

    [Fact]
    public void A_wrong_input_length_names_both_shapes()
    {
        var (_, toGpu, _, _) = Create("classifier", batch: 1, seed: 1);
        using var gpu = toGpu(device);
        var error = Assert.Throws<ArgumentException>(() => gpu.PredictBatch(new float[13], new float[6]));
        Assert.Contains("13", error.Message);
        Assert.Contains("(6)", error.Message);
    }

    /// <summary>An optimizer written outside NetDsl: its update runs on the host, which the device cannot call.</summary>
    sealed class HostOnlyOptimizer : IOptimizer
    {
        public double LearningRate { get; set; } = 0.1;

        public long Steps => 0;

        public void Step(Span<float> parameters, ReadOnlySpan<float> gradients) { }

        public void Reset() { }
    }

    [Fact]
    public void An_optimizer_without_a_GPU_update_is_named()
    {
        var (_, toGpu, inputs, targets) = Create("classifier", batch: 4, seed: 1);
        using var gpu = toGpu(device);
        var error = Assert.Throws<ArgumentException>(() => gpu.TrainStep(inputs, targets, new HostOnlyOptimizer()));
        Assert.Contains(nameof(HostOnlyOptimizer), error.Message);
    }

    [Fact]
    public void Asking_for_CUDA_without_a_device_is_a_clear_error()
    {
        GpuDevice? cuda = null;
        try
        {
            cuda = GpuDevice.Create(GpuBackend.Cuda);
        }
        catch (GpuUnavailableException error)
        {
            Assert.Contains("CUDA", error.Message);
            return;
        }
        // A machine with a CUDA GPU opens it instead.
        Assert.False(cuda.IsSimulated);
        cuda.Dispose();
    }
}

/// <summary>Data-parallel steps of GPU twins: two ranks (threads, each with its own CPU accelerator) with half batches
/// against one twin with the whole batch.</summary>
public sealed class GpuDataParallelTests
{
    [Fact]
    public void Two_ranks_on_two_devices_train_as_one_device_with_the_whole_batch()
    {
        const int Batch = 12, Steps = 3;
        var random = new Random(5);
        var inputs = Enumerable.Range(0, Batch * 6).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var targets = new float[Batch * 3];
        for (int s = 0; s < Batch; s++) targets[s * 3 + random.Next(3)] = 1;
        float[] Train(Func<GpuNetwork, IOptimizer, float> step)
        {
            var host = new GpuClassifier(seed: 3) { Regularization = Regularization.Ridge(0.05) };
            using var device = GpuDevice.Create(GpuBackend.Cpu);
            using var twin = host.ToGpu(device);
            var adam = new Adam(0.01);
            for (int i = 0; i < Steps; i++) Assert.True(float.IsFinite(step(twin, adam)));
            twin.Download();
            return host.Parameters.ToArray();
        }
        var alone = Train((twin, adam) => twin.TrainStep(inputs, targets, adam));
        var ranks = NetDsl.Tests.ThreadGroup.Run(2, group => Train((twin, adam) => twin.TrainStep(inputs, targets, adam, group)));
        Assert.Equal(ranks[0], ranks[1]);
        double distance = Math.Sqrt(alone.Zip(ranks[0], (a, b) => (double)(a - b) * (a - b)).Sum() / alone.Sum(v => (double)v * v));
        Assert.True(distance < 1e-5, $"θ differs by {distance:E2} relative");
    }
}

/// <summary>Frozen layers on the GPU twin: no update, gradients that read zero, and a clear refusal of a frozen BatchNorm,
/// which the twin's kernels cannot run with its running statistics.</summary>
public sealed class GpuFrozenLayerTests(SimulatedDevice simulated) : IClassFixture<SimulatedDevice>
{
    [Fact]
    public void A_frozen_layer_keeps_its_weights_on_the_device()
    {
        var host = new GpuClassifier(seed: 3);
        var random = new Random(2);
        var inputs = Enumerable.Range(0, 8 * 6).Select(_ => (float)random.NextDouble()).ToArray();
        var targets = new float[8 * 3];
        for (int s = 0; s < 8; s++) targets[s * 3 + s % 3] = 1;
        host.Freeze("Hidden1");
        var tensors = ((INeuralNetwork)host).ParameterTensors;
        var hidden1 = tensors.Single(t => t.Name == "Hidden1.weight");
        var logits = tensors.Single(t => t.Name == "Logits.weight");
        var before = host.Parameters.ToArray();
        using var twin = host.ToGpu(simulated.Device);
        var adam = new Adam(0.01);
        for (int i = 0; i < 3; i++) twin.TrainStep(inputs, targets, adam);
        twin.Download();
        Assert.Equal(before.AsSpan(hidden1.Offset, hidden1.Length).ToArray(), host.Parameters.Slice(hidden1.Offset, hidden1.Length).ToArray());
        Assert.NotEqual(before.AsSpan(logits.Offset, logits.Length).ToArray(), host.Parameters.Slice(logits.Offset, logits.Length).ToArray());
        var gradients = new float[host.Parameters.Length];
        twin.DownloadGradients(gradients);
        Assert.All(gradients.AsSpan(hidden1.Offset, hidden1.Length).ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void A_frozen_batchnorm_is_refused_with_the_layer_named()
    {
        var host = new GpuNormedMlp(seed: 1);
        host.Freeze("Norm");
        using var twin = host.ToGpu(simulated.Device);
        var error = Assert.Throws<NotSupportedException>(() => twin.ComputeGradients(new float[4 * 6], new float[4 * 2]));
        Assert.Contains("BatchNorm layer 'Norm' of GpuNormedMlp is frozen", error.Message);
    }
}

/// <summary>The GPU footprint computed from the plan against what the twin allocates, and the out-of-memory check.</summary>
public sealed class GpuMemoryPlanTests
{
    static void Train(GpuNetwork twin, int batch, int inputs, int outputs)
    {
        var x = new float[batch * inputs];
        var y = new float[batch * outputs];
        for (int s = 0; s < batch; s++) y[s * outputs] = 1;
        twin.TrainStep(x, y, new Adam());
    }

    [Theory]
    [InlineData("classifier", 40)]
    [InlineData("cnn", 12)]
    [InlineData("cnn", 1)]
    [InlineData("normed", 33)]
    public void The_planned_footprint_is_what_the_twin_allocates_with_the_workspace_at_most_its_bound(string name, int batch)
    {
        using var device = GpuDevice.Create(GpuBackend.Cpu);
        var (plan, twin) = name switch
        {
            "classifier" => (GpuClassifier.PlanGpuMemory(batch), (GpuNetwork)new GpuClassifier(seed: 1).ToGpu(device, batch)),
            "cnn" => (GpuCnn.PlanGpuMemory(batch), new GpuCnn(seed: 1).ToGpu(device, batch)),
            _ => (GpuNormedMlp.PlanGpuMemory(batch), new GpuNormedMlp(seed: 1).ToGpu(device, batch)),
        };
        using (twin)
        {
            Train(twin, batch, twin.Network.InputSize, twin.Network.OutputSize);
            long allocated = device.AllocatedBytes;
            long withoutWorkspace = plan.TotalBytes - plan.WorkspaceBytes;
            Assert.Equal(withoutWorkspace + twin.WorkspaceBytes, allocated);
            Assert.InRange(twin.WorkspaceBytes, 0, plan.WorkspaceBytes);
            // The batch buffers were reserved for the whole batch: a smaller one allocates nothing new.
            Train(twin, Math.Max(1, batch / 2), twin.Network.InputSize, twin.Network.OutputSize);
            Assert.Equal(allocated, device.AllocatedBytes);
        }
    }

    [Fact]
    public void The_largest_batch_that_fits_is_the_last_one_whose_total_does()
    {
        var plan = GpuCnn.PlanGpuMemory(1);
        foreach (long free in new[] { plan.TotalBytes - 1, plan.TotalBytes, 50L << 20, 3L << 30 })
        {
            long batch = plan.MaxBatch(free);
            if (batch > 0) Assert.True((plan with { BatchSize = (int)batch }).TotalBytes <= free);
            Assert.True((plan with { BatchSize = (int)batch + 1 }).TotalBytes > free);
        }
    }

    [Fact]
    public void A_batch_that_cannot_fit_is_refused_before_anything_is_allocated_with_the_numbers()
    {
        using var device = GpuDevice.Create(GpuBackend.Cpu);
        var network = new GpuCnn(seed: 1);
        var error = Assert.Throws<GpuOutOfMemoryException>(() => network.ToGpu(device, 200_000_000));
        Assert.Matches(@"^GpuCnn training at batch 200000000 needs [\d.]+ GiB on .+ \(batch 200000000: parameters .+\), but .+ is free; the largest batch that fits is \d+\.$", error.Message);
        Assert.Equal(0, device.AllocatedBytes);
        long largest = long.Parse(System.Text.RegularExpressions.Regex.Match(error.Message, @"fits is (\d+)\.").Groups[1].Value);
        Assert.InRange(largest, 1, 200_000_000);
    }
}
