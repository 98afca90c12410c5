using ILGPU;
using ILGPU.Runtime;
using NetDsl.Kernels;
using NetDsl.Optimizers;

namespace NetDsl.Gpu;

/// <summary>The device side of a declared network: θ, dθ, optimizer state and activation buffers on one accelerator.
/// Generated networks derive from it (<c>net.ToGpu(device)</c>) and supply the passes; this class stages data, runs the
/// loss, the regularization penalty and the optimizer update, and moves θ between host and device.</summary>
/// <remarks>θ lives on the device between steps: call <see cref="Download"/> to bring it back into the host network (to
/// save a checkpoint or predict on the CPU) and <see cref="Upload"/> after changing it there.</remarks>
public abstract partial class GpuNetwork : IDisposable
{
    readonly List<MemoryBuffer1D<float, Stride1D.Dense>> batchBuffers = [];
    readonly MemoryBuffer1D<float, Stride1D.Dense> parameters, gradients, statistics, statisticsBeforeStep, scalars;
    MemoryBuffer1D<float, Stride1D.Dense>? parametersBeforeStep;
    /// <summary>The loss scalars on the device: loss sum, dθ non-finite flag, Σ|w|, Σw², a non-finite sample loss.</summary>
    internal const int ScalarCount = 5;
    readonly float[] scalarValues = new float[ScalarCount];
    ArrayView<float> inputs, targets;
    GpuOptimizerState? optimizerState;
    ulong trainingSteps;

    /// <summary>Allocates θ and dθ on <paramref name="device"/> and uploads the host network's θ.</summary>
    protected GpuNetwork(GpuDevice device, INeuralNetwork network)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        Network = network;
        parameters = device.Allocate(network.ParameterCount);
        gradients = device.Allocate(network.ParameterCount);
        statistics = device.Allocate(Math.Max(1, network.RunningStatistics.Length));
        statisticsBeforeStep = device.Allocate(statistics.Length);
        scalars = device.Allocate(scalarValues.Length);
        Upload();
    }

    /// <summary>The accelerator this network runs on.</summary>
    public GpuDevice Device { get; }

    /// <summary>The host network whose θ this copy started from and returns to.</summary>
    public INeuralNetwork Network { get; }

    /// <summary>Whether this network has fused passes: every layer is at most 128 wide, so the forward pass and the
    /// backward pass's dZ can each run as one kernel, a tile of samples per group with its activations in shared memory
    /// (tiny-cuda-nn's design). The weight gradients stay separate tiled products.</summary>
    public virtual bool HasFusedPasses => false;

    /// <summary>Whether the fused passes run where the network has them (default); off, every layer is its own tiled product.</summary>
    public bool FusedPasses { get; set; } = true;

    /// <summary>Bytes of the split-K products' workspace allocated so far (0 until a product splits its depth); at most
    /// <see cref="GpuMemoryPlan.WorkspaceBytes"/>.</summary>
    public long WorkspaceBytes => partials is { IsDisposed: false } buffer ? buffer.LengthInBytes : 0;

    /// <summary>The largest batch the activation buffers hold now; they grow when a larger batch arrives.</summary>
    public int Capacity { get; private set; }

    /// <summary>θ on the device.</summary>
    protected ArrayView<float> Parameters => parameters.View;

    /// <summary>dθ on the device.</summary>
    protected ArrayView<float> Gradients => gradients.View;

    /// <summary>The BatchNorm layers' running means and variances on the device, laid out as the host network's.</summary>
    protected ArrayView<float> Statistics => statistics.View;

    /// <summary>The staged inputs of the current batch.</summary>
    protected ArrayView<float> Inputs => inputs;

    /// <summary>The staged targets of the current batch.</summary>
    protected ArrayView<float> Targets => targets;

    /// <summary>The key the host network draws its dropout masks from (its seed), so CPU and GPU masks match.</summary>
    protected abstract ulong DropoutSeed { get; }

    /// <summary>The host network's frozen layers, whose θ ranges the twin keeps as they are.</summary>
    protected abstract FrozenLayers Frozen { get; }

    /// <summary>The sample shape, for error messages, e.g. "(784)".</summary>
    protected abstract string InputShape { get; }

    /// <summary>The network's output after <see cref="Forward"/>.</summary>
    protected abstract ArrayView<float> Output { get; }

    /// <summary>Allocates every per-sample buffer for <paramref name="capacity"/> samples through <see cref="Allocate"/>.</summary>
    protected abstract void AllocateActivations(int capacity);

    /// <summary>The forward pass of <paramref name="batch"/> staged samples: in <paramref name="training"/>, BatchNorm
    /// normalizes with the batch's statistics and moves its running ones; with <paramref name="dropout"/> the masks are
    /// drawn from <paramref name="seed"/>.</summary>
    protected abstract void Forward(int batch, bool training, bool dropout, ulong seed);

    /// <summary>The loss of the staged targets into the loss scalar, and its gradient into the last layer's buffer.</summary>
    protected abstract void Loss(int batch);

    /// <summary>The backward pass into dθ (l1 and l2 already divided by the batch).</summary>
    protected abstract void Backward(int batch, bool dropout, ulong seed, float l1, float l2);

    /// <summary>Copies the host network's θ (and BatchNorm running statistics) to the device.</summary>
    public void Upload()
    {
        Parameters.CopyFromCPU(Network.Parameters);
        if (!Network.RunningStatistics.IsEmpty) Statistics.SubView(0, Network.RunningStatistics.Length).CopyFromCPU(Network.RunningStatistics);
    }

    /// <summary>Copies θ (and BatchNorm running statistics) from the device into the host network.</summary>
    public void Download()
    {
        Parameters.CopyToCPU(Network.Parameters);
        if (!Network.RunningStatistics.IsEmpty) Statistics.SubView(0, Network.RunningStatistics.Length).CopyToCPU(Network.RunningStatistics);
    }

    /// <summary>Copies dθ of the last <see cref="ComputeGradients"/> into <paramref name="destination"/>.</summary>
    public void DownloadGradients(Span<float> destination)
    {
        Shapes.RequireLength(destination.Length, Network.ParameterCount, $"({Network.ParameterCount})", nameof(destination));
        Gradients.CopyToCPU(destination);
    }

    /// <summary>Runs inference (dropout off) on a batch and copies the outputs back.</summary>
    public void PredictBatch(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        int batch = Shapes.BatchSize(inputs.Length, Network.InputSize, InputShape, nameof(inputs));
        Shapes.RequireBatchLength(outputs.Length, batch, Network.OutputSize, nameof(outputs));
        Stage(inputs, default, batch);
        Forward(batch, training: false, dropout: false, 0);
        Output.SubView(0, (long)batch * Network.OutputSize).CopyToCPU(outputs);
    }

    /// <summary>The loss of a batch (with the regularization penalty) and dθ on the device, as the host network's
    /// <c>ComputeGradients</c> computes them.</summary>
    public float ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets)
    {
        int batch = Shapes.BatchSize(inputs.Length, Network.InputSize, InputShape, nameof(inputs));
        Shapes.RequireBatchLength(targets.Length, batch, Network.OutputSize, nameof(targets));
        RequireFrozenSupported();
        Stage(inputs, targets, batch);
        scalars.MemSetToZero();
        bool dropout = Network.DropoutEnabled && HasDropout();
        ulong seed = Dropout.StepSeed(DropoutSeed, ++trainingSteps);
        Forward(batch, training: true, dropout, seed);
        Loss(batch);
        var regularization = Network.Regularization;
        Backward(batch, dropout, seed, (float)(regularization.L1 / batch), (float)(regularization.L2 / batch));
        if (regularization.IsActive)
        {
            // Indexed, not foreach: enumerating an IReadOnlyList allocates.
            var tensors = Network.ParameterTensors;
            for (int t = 0; t < tensors.Count; t++)
                if (tensors[t].WeightDecay) Launch1D(tensors[t].Length, PenaltySums, Parameters.SubView(tensors[t].Offset, tensors[t].Length), scalars.View.SubView(2, 2));
        }
        // A frozen layer's gradient reads zero, as on the CPU.
        var frozen = Frozen.FrozenRanges;
        for (int r = 0; r < frozen.Count; r++) gradients.View.SubView(frozen[r].Offset, frozen[r].Length).MemSetToZero();
        // scalars[1] becomes 1 when dθ holds a NaN or ∞, read back with the loss.
        Launch1D(Network.ParameterCount, FlagNonFinite, Gradients, scalars.View.SubView(1, 1));
        scalars.View.CopyToCPU(scalarValues);
        GradientsFinite = scalarValues[1] == 0;
        double penalty = (regularization.L1 * scalarValues[2] + regularization.L2 * scalarValues[3] / 2) / batch;
        float nonFinite = scalarValues[GpuKernels.NonFiniteLoss];
        return nonFinite != 0 ? nonFinite : (float)(scalarValues[0] + penalty);
    }

    /// <summary>Whether every value of dθ from the last <see cref="ComputeGradients"/> is finite.</summary>
    public bool GradientsFinite { get; private set; } = true;

    /// <summary>One training step on the device: <see cref="ComputeGradients"/>, then the optimizer's update of θ with
    /// state kept on the device. A non-finite loss or gradient leaves θ, the optimizer, the running statistics and the
    /// step count as they were, as on the CPU.</summary>
    /// <remarks>The optimizer's learning rate is read every step (schedules keep working); its state lives here, so
    /// passing a different optimizer starts fresh state.</remarks>
    public float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, IOptimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ulong stepsBefore = trainingSteps;
        statistics.View.CopyTo(statisticsBeforeStep.View);
        float loss = ComputeGradients(inputs, targets);
        if (!float.IsFinite(loss) || !GradientsFinite)
        {
            // A failed step leaves every piece of state as it was: θ and the optimizer are not touched, and the running
            // statistics and the step count (which keys the dropout masks) go back.
            statisticsBeforeStep.View.CopyTo(statistics.View);
            trainingSteps = stepsBefore;
            return loss;
        }
        ApplyUpdate(optimizer);
        return loss;
    }

    /// <summary>The optimizer's update of θ from dθ, with its state kept on the device (fresh for a new optimizer);
    /// frozen layers' tensors are put back as they were.</summary>
    void ApplyUpdate(IOptimizer optimizer)
    {
        if (optimizerState is null || !ReferenceEquals(optimizerState.Optimizer, optimizer))
        {
            optimizerState?.Dispose();
            optimizerState = new GpuOptimizerState(Device, optimizer, Network.ParameterCount);
        }
        var frozen = Frozen.FrozenRanges;
        if (frozen.Count > 0)
        {
            parametersBeforeStep ??= Device.Allocate(Network.ParameterCount);
            parameters.View.CopyTo(parametersBeforeStep.View);
        }
        optimizerState.Step(parameters.View, gradients.View);
        for (int r = 0; r < frozen.Count; r++)
            parametersBeforeStep!.View.SubView(frozen[r].Offset, frozen[r].Length).CopyTo(parameters.View.SubView(frozen[r].Offset, frozen[r].Length));
    }

    /// <summary>The twin's BatchNorm kernels always normalize with the batch's statistics, so a frozen BatchNorm (which
    /// normalizes with its running ones) cannot run here.</summary>
    void RequireFrozenSupported()
    {
        var frozen = Network.FrozenLayers;
        if (frozen.Count == 0) return;
        foreach (var tensor in Network.StatisticsTensors)
            if (frozen.Contains(tensor.Layer))
                throw new NotSupportedException($"BatchNorm layer '{tensor.Layer}' of {Network.Name} is frozen, which the GPU twin does not support: " +
                    "its kernels normalize with the batch's statistics. Unfreeze it, or train on the CPU, where a frozen BatchNorm uses its running statistics.");
    }

    /// <summary>Allocates the batch buffers for <paramref name="capacity"/> samples now, so a training step at that batch
    /// allocates nothing more (the optimizer's state comes with the first step).</summary>
    public void Reserve(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (capacity > Capacity) Grow(capacity);
    }

    /// <summary>Waits for every launched kernel to finish.</summary>
    public void Synchronize() => Device.Accelerator.Synchronize();

    bool HasDropout() => Network.DropoutLayers.Count > 0;

    /// <summary>Checks a batch's inputs on the host before they are staged, where a kernel could not report them (an
    /// embedding's ids); throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    protected virtual void CheckInputs(ReadOnlySpan<float> inputs, int batch) { }

    void Stage(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int batch)
    {
        CheckInputs(inputs, batch);
        if (batch > Capacity) Grow(batch);
        this.inputs.SubView(0, inputs.Length).CopyFromCPU(inputs);
        if (!targets.IsEmpty) this.targets.SubView(0, targets.Length).CopyFromCPU(targets);
    }

    void Grow(int capacity)
    {
        foreach (var buffer in batchBuffers) buffer.Dispose();
        batchBuffers.Clear();
        Capacity = capacity;
        inputs = Allocate((long)capacity * Network.InputSize);
        targets = Allocate((long)capacity * Network.OutputSize);
        AllocateActivations(capacity);
    }

    /// <summary>A device buffer of <paramref name="length"/> floats that lives until the batch capacity grows.</summary>
    protected ArrayView<float> Allocate(long length)
    {
        var buffer = Device.Allocate(length);
        batchBuffers.Add(buffer);
        return buffer.View;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var buffer in batchBuffers) buffer.Dispose();
        batchBuffers.Clear();
        optimizerState?.Dispose();
        partials?.Dispose();
        parameters.Dispose();
        gradients.Dispose();
        statistics.Dispose();
        statisticsBeforeStep.Dispose();
        parametersBeforeStep?.Dispose();
        scalars.Dispose();
        GC.SuppressFinalize(this);
    }
}
