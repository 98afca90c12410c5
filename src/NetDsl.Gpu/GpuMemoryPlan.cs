using System.Globalization;

namespace NetDsl.Gpu;

/// <summary>The device memory a GPU twin takes to train at a batch size, from the network's plan, before anything is
/// allocated: θ, dθ, the running statistics (and their copy for a failed step), the loss scalars, the optimizer's state,
/// the activations with the staged inputs and targets, and the split-K products' workspace (at most
/// <see cref="WorkspaceBytes"/>; small products split their depth over several groups).</summary>
public sealed record GpuMemoryPlan(int ParameterCount, int StatisticsCount, long ActivationValuesPerSample, long FixedActivationValues,
    int InputSize, int OutputSize, int BatchSize, int OptimizerStateCopies = 2)
{
    /// <summary>Bytes of θ.</summary>
    public long ParameterBytes => (long)ParameterCount * sizeof(float);

    /// <summary>Bytes of dθ.</summary>
    public long GradientBytes => ParameterBytes;

    /// <summary>Bytes of the optimizer's state vectors.</summary>
    public long OptimizerStateBytes => ParameterBytes * OptimizerStateCopies;

    /// <summary>Bytes of the running statistics, their copy kept during a step, and the loss scalars.</summary>
    public long StatisticsBytes => (2L * Math.Max(1, StatisticsCount) + GpuNetwork.ScalarCount) * sizeof(float);

    /// <summary>Bytes of every layer's per-sample buffers (outputs, activations, gradients, patch matrices) and the staged
    /// inputs and targets at <see cref="BatchSize"/>, with the buffers whose length does not grow with it.</summary>
    public long ActivationBytes => ((long)BatchSize * (ActivationValuesPerSample + InputSize + OutputSize) + FixedActivationValues) * sizeof(float);

    /// <summary>The most the split-K workspace takes: a product splits its depth only while it has fewer groups than the
    /// device should keep busy, so splits · M · N stays under that many groups' tiles.</summary>
    public long WorkspaceBytes => GpuNetwork.MaxWorkspaceValues * sizeof(float);

    /// <summary>Everything together.</summary>
    public long TotalBytes => ParameterBytes + GradientBytes + OptimizerStateBytes + StatisticsBytes + ActivationBytes + WorkspaceBytes;

    /// <summary>The largest batch whose <see cref="TotalBytes"/> fits in <paramref name="freeBytes"/>; 0 when not even one sample does.</summary>
    public long MaxBatch(long freeBytes)
    {
        var one = this with { BatchSize = 1 };
        long perSample = (ActivationValuesPerSample + InputSize + OutputSize) * sizeof(float);
        long fixedBytes = one.TotalBytes - perSample;
        return freeBytes < fixedBytes + perSample ? 0 : (freeBytes - fixedBytes) / perSample;
    }

    /// <summary>Throws when the plan does not fit the device's free memory, with the numbers and the largest batch that does.</summary>
    /// <exception cref="GpuOutOfMemoryException">It does not fit.</exception>
    public void RequireFits(GpuDevice device, string network)
    {
        long free = device.FreeMemoryBytes;
        if (TotalBytes <= free) return;
        long largest = MaxBatch(free);
        string advice = largest > 0
            ? string.Create(CultureInfo.InvariantCulture, $"the largest batch that fits is {largest}.")
            : "not even a batch of one fits: θ, dθ and the optimizer state alone take too much.";
        throw new GpuOutOfMemoryException(string.Create(CultureInfo.InvariantCulture,
            $"{network} training at batch {BatchSize} needs {Shapes.Bytes(TotalBytes)} on {device.Name} ({this}), but {Shapes.Bytes(free)} is free; {advice}"));
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"batch {BatchSize}: parameters {Shapes.Bytes(ParameterBytes)}, gradients {Shapes.Bytes(GradientBytes)}, optimizer state {Shapes.Bytes(OptimizerStateBytes)}, " +
        $"statistics {Shapes.Bytes(StatisticsBytes)}, activations {Shapes.Bytes(ActivationBytes)}, workspace up to {Shapes.Bytes(WorkspaceBytes)}, total {Shapes.Bytes(TotalBytes)}");
}

/// <summary>A GPU twin would not fit the device's free memory; the message has the numbers and the largest batch that fits.</summary>
public sealed class GpuOutOfMemoryException(string message) : Exception(message);
