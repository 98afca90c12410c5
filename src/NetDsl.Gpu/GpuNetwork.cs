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
public abstract class GpuNetwork : IDisposable
{
    readonly List<MemoryBuffer1D<float, Stride1D.Dense>> batchBuffers = [];
    readonly MemoryBuffer1D<float, Stride1D.Dense> parameters, gradients, statistics, statisticsBeforeStep, scalars;
    // Loss sum, dθ non-finite flag, Σ|w|, Σw², a non-finite sample loss.
    readonly float[] scalarValues = new float[5];
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
        if (optimizerState is null || !ReferenceEquals(optimizerState.Optimizer, optimizer))
        {
            optimizerState?.Dispose();
            optimizerState = new GpuOptimizerState(Device, optimizer, Network.ParameterCount);
        }
        optimizerState.Step(parameters.View, gradients.View);
        return loss;
    }

    /// <summary>Waits for every launched kernel to finish.</summary>
    public void Synchronize() => Device.Accelerator.Synchronize();

    bool HasDropout() => Network.DropoutLayers.Count > 0;

    void Stage(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int batch)
    {
        if (batch > Capacity)
        {
            foreach (var buffer in batchBuffers) buffer.Dispose();
            batchBuffers.Clear();
            Capacity = batch;
            this.inputs = Allocate((long)batch * Network.InputSize);
            this.targets = Allocate((long)batch * Network.OutputSize);
            AllocateActivations(batch);
        }
        this.inputs.SubView(0, inputs.Length).CopyFromCPU(inputs);
        if (!targets.IsEmpty) this.targets.SubView(0, targets.Length).CopyFromCPU(targets);
    }

    /// <summary>A device buffer of <paramref name="length"/> floats that lives until the batch capacity grows.</summary>
    protected ArrayView<float> Allocate(long length)
    {
        var buffer = Device.Allocate(length);
        batchBuffers.Add(buffer);
        return buffer.View;
    }

    /// <summary>Launches <c>C = op(A)·op(B)</c> with every element handed to <paramref name="epilogue"/>. A product with
    /// few tiles of C over a long k (a convolution's weight gradient sums over every pixel of the batch) is split along
    /// k so that enough groups run at once: each layer of groups writes its partial C to a scratch buffer, and one more
    /// kernel adds the layers and runs the epilogue.</summary>
    protected void Multiply<TEpilogue>(ArrayView<float> a, ArrayView<float> b, ProductShape shape, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        int side = GpuDevice.GroupSide, tile = GpuKernels.ProductTile;
        var groups = new Index2D((shape.N + tile - 1) / tile, (shape.M + tile - 1) / tile);
        int splits = SplitsFor(shape, groups.Size);
        if (splits == 1)
        {
            var kernel = Device.Kernel(typeof(TEpilogue), static (accelerator, _) =>
                accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ProductShape, TEpilogue>(GpuKernels.Product));
            kernel(new KernelConfig(groups, new Index2D(side, side)), a, b, shape, epilogue);
            return;
        }
        int depthPerGroup = (shape.K + splits - 1) / splits;
        long partialLength = (long)splits * shape.M * shape.N;
        if (partials is not { } buffer || buffer.Length < partialLength)
        {
            // Kernels still queued may read the smaller buffer: let them finish before it goes.
            Device.Accelerator.Synchronize();
            partials?.Dispose();
            partials = Device.Allocate(partialLength);
        }
        var store = new StoreEpilogue { Output = partials.View, Width = shape.N };
        var product = Device.Kernel(typeof(StoreEpilogue), static (accelerator, _) =>
            accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ProductShape, StoreEpilogue>(GpuKernels.Product));
        product(new KernelConfig(new Index3D(groups.X, groups.Y, splits), new Index3D(side, side, 1)), a, b,
            shape with { DepthPerGroup = depthPerGroup }, store);
        Device.Kernel(Keys<TEpilogue>.SumSplits, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, int, TEpilogue>(GpuKernels.SumSplits))(
            shape.M * shape.N, partials.View, splits, shape.M, shape.N, epilogue);
    }

    MemoryBuffer1D<float, Stride1D.Dense>? partials;

    /// <summary>Groups a product should keep busy at once: enough for every multiprocessor of a large GPU.</summary>
    const int TargetGroups = 128;

    /// <summary>Depth below which a layer of groups is not worth its partial tile.</summary>
    const int MinimumSplitDepth = 512;

    /// <summary>How many layers of groups split <paramref name="shape"/>'s k: 1 unless the tiles of C are too few to fill the
    /// device and k is long.</summary>
    public static int SplitsFor(ProductShape shape, long tiles) =>
        tiles >= TargetGroups ? 1 : (int)Math.Max(1, Math.Min(TargetGroups / tiles, shape.K / MinimumSplitDepth));

    /// <summary>Threads per group of a generated fused pass (one per unit of a layer up to 128 wide).</summary>
    public const int FusedGroupThreads = 128;

    /// <summary>Samples per group of a generated fused pass.</summary>
    public const int FusedTileRows = 32;

    /// <summary>Launches a generated fused pass: one group of <see cref="FusedGroupThreads"/> threads per tile of
    /// <see cref="FusedTileRows"/> samples. The kernel compiles once per device.</summary>
    protected void LaunchTiles<TPass>(Action<TPass> kernel, int batch, TPass pass) where TPass : struct
    {
        var loaded = Device.Kernel(kernel.Method, static (accelerator, method) =>
            accelerator.LoadStreamKernel(((System.Reflection.MethodInfo)method).CreateDelegate<Action<TPass>>()));
        loaded(new KernelConfig((batch + FusedTileRows - 1) / FusedTileRows, FusedGroupThreads), pass);
    }

    /// <summary>db = column sums of the batch × units gradient dZ.</summary>
    protected void BiasGradient(ArrayView<float> outputGradient, int batch, int units, ArrayView<float> biasGradient) =>
        Launch1D(units, ColumnSums, outputGradient, biasGradient, batch, units);

    /// <summary>Softmax cross-entropy of the output logits against the staged targets.</summary>
    protected void SoftmaxCrossEntropy(ArrayView<float> logits, ArrayView<float> gradient, int batch, int classes, float smoothing) =>
        Launch1D(batch, SoftmaxCrossEntropyKernel, logits, Targets, gradient, scalars.View, classes, smoothing, 1f / batch);

    /// <summary>Mean squared error of the outputs against the staged targets.</summary>
    protected void MeanSquaredError(ArrayView<float> outputs, ArrayView<float> gradient, int batch, int width) =>
        Launch1D(batch, MeanSquaredErrorKernel, outputs, Targets, gradient, scalars.View, width, 1f / (batch * width));

    /// <summary>Binary cross-entropy of sigmoid outputs against the staged targets (gradient fused with the sigmoid).</summary>
    protected void BinaryCrossEntropy(ArrayView<float> outputs, ArrayView<float> gradient, int batch, int width, float smoothing) =>
        Launch1D(batch, BinaryCrossEntropyKernel, outputs, Targets, gradient, scalars.View, width, smoothing, 1f / (batch * width));

    /// <summary>The patch matrix of a batch for a convolution (see <see cref="GpuLayerKernels.Im2Patches"/>).</summary>
    protected void Patches(ArrayView<float> input, ArrayView<float> patches, int batch, ConvGeometry geometry) =>
        Launch1D((long)batch * geometry.OutputPixels * geometry.PatchSize, Im2PatchesKernel, input, patches, geometry);

    /// <summary>A convolution's dZ (NCHW) as pixel-major rows of <paramref name="channels"/>.</summary>
    protected void PixelMajor(ArrayView<float> values, ArrayView<float> pixelMajor, int batch, int channels, int pixels) =>
        Launch1D((long)batch * channels * pixels, ToPixelMajorKernel, values, pixelMajor, channels, pixels);

    /// <summary>A convolution's input gradient from its patches' gradient, each element handed to <paramref name="epilogue"/>.</summary>
    protected void PatchesToImage<TEpilogue>(ArrayView<float> patchGradient, int batch, ConvGeometry geometry, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.PatchesToImage, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ConvGeometry, TEpilogue>(GpuLayerKernels.PatchesToImage))(
            batch * geometry.InputSize, patchGradient, geometry, epilogue);

    /// <summary>Max pooling of a batch, each output handed to <paramref name="epilogue"/>.</summary>
    protected void MaxPool<TEpilogue>(ArrayView<float> input, ArrayView<float> winners, int batch, ConvGeometry geometry, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.MaxPool, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, TEpilogue>(GpuLayerKernels.MaxPoolForward))(
            batch * geometry.Channels * geometry.OutputPixels, input, winners, geometry, epilogue);

    /// <summary>Max pooling's input gradient, each element handed to <paramref name="epilogue"/>.</summary>
    protected void MaxPoolGradient<TEpilogue>(ArrayView<float> outputGradient, ArrayView<float> winners, int batch, ConvGeometry geometry,
        TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.MaxPoolGradient, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, TEpilogue>(GpuLayerKernels.MaxPoolBackward))(
            batch * geometry.InputSize, outputGradient, winners, geometry, epilogue);

    /// <summary>Average pooling of a batch, each output handed to <paramref name="epilogue"/>.</summary>
    protected void AveragePool<TEpilogue>(ArrayView<float> input, int batch, ConvGeometry geometry, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.AveragePool, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ConvGeometry, TEpilogue>(GpuLayerKernels.AveragePoolForward))(
            batch * geometry.Channels * geometry.OutputPixels, input, geometry, epilogue);

    /// <summary>Average pooling's input gradient, each element handed to <paramref name="epilogue"/>.</summary>
    protected void AveragePoolGradient<TEpilogue>(ArrayView<float> outputGradient, int batch, ConvGeometry geometry, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.AveragePoolGradient, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ConvGeometry, TEpilogue>(GpuLayerKernels.AveragePoolBackward))(
            batch * geometry.InputSize, outputGradient, geometry, epilogue);

    /// <summary>Batch normalization of a batch: with <paramref name="training"/> the batch's moments (and, with
    /// <paramref name="update"/>, the running statistics moved toward them), else the running statistics'; x̂ into
    /// <paramref name="normalized"/>, γx̂ + β to <paramref name="epilogue"/>. <paramref name="moments"/> holds 2C floats,
    /// <paramref name="running"/> the layer's 2C running statistics.</summary>
    protected void BatchNorm<TEpilogue>(ArrayView<float> input, ArrayView<float> normalized, ArrayView<float> moments, ArrayView<float> gamma,
        ArrayView<float> beta, ArrayView<float> running, int batch, int channels, int spatial, double momentum, double epsilon,
        bool training, bool update, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        if (training)
            Device.Kernel(BatchNormStatisticsKernel, static (accelerator, key) => accelerator.LoadStreamKernel(
                (Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, int>)key))(
                new KernelConfig(channels, GpuLayerKernels.ChannelGroupThreads), input, moments, running, batch, channels, spatial,
                (float)momentum, (float)epsilon, update ? 1 : 0);
        else
            Launch1D(channels, BatchNormRunningMomentsKernel, running, moments, channels, (float)epsilon);
        Device.Kernel(Keys<TEpilogue>.BatchNorm, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, TEpilogue>(
                GpuLayerKernels.BatchNormNormalize))(batch * channels * spatial, input, normalized, moments, gamma, beta, channels, spatial, epilogue);
    }

    /// <summary>Batch normalization's backward: dγ and dβ into <paramref name="gammaGradient"/> and
    /// <paramref name="betaGradient"/>, its input gradient to <paramref name="epilogue"/>. <paramref name="coefficients"/>
    /// holds 3C floats of scratch.</summary>
    protected void BatchNormGradient<TEpilogue>(ArrayView<float> gradient, ArrayView<float> normalized, ArrayView<float> moments,
        ArrayView<float> gamma, ArrayView<float> gammaGradient, ArrayView<float> betaGradient, ArrayView<float> coefficients,
        int batch, int channels, int spatial, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        Device.Kernel(BatchNormGradientSumsKernel, static (accelerator, key) => accelerator.LoadStreamKernel(
            (Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>)key))(
            new KernelConfig(channels, GpuLayerKernels.ChannelGroupThreads), gradient, normalized, moments, gamma, gammaGradient, betaGradient,
            coefficients, batch, channels, spatial);
        Device.Kernel(Keys<TEpilogue>.BatchNormGradient, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, TEpilogue>(
                GpuLayerKernels.BatchNormInputGradient))(batch * channels * spatial, gradient, normalized, coefficients, channels, spatial, epilogue);
    }

    /// <summary>A skip connection: first + second, each element handed to <paramref name="epilogue"/>.</summary>
    protected void Sum<TEpilogue>(ArrayView<float> first, ArrayView<float> second, int rows, int width, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.Sum, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, TEpilogue>(GpuLayerKernels.Sum))(
            rows * width, first, second, width, epilogue);

    /// <summary>PReLU with per-channel <paramref name="slopes"/>, each output handed to <paramref name="epilogue"/>.</summary>
    protected void PReLU<TEpilogue>(ArrayView<float> input, ArrayView<float> slopes, int batch, int channels, int spatial, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.PReLU, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, TEpilogue>(GpuLayerKernels.PReLUForward))(
            batch * channels * spatial, input, slopes, channels, spatial, epilogue);

    /// <summary>PReLU's backward: the slopes' gradient into <paramref name="slopeGradient"/>, the input gradient to
    /// <paramref name="epilogue"/>.</summary>
    protected void PReLUGradient<TEpilogue>(ArrayView<float> gradient, ArrayView<float> input, ArrayView<float> slopes, ArrayView<float> slopeGradient,
        int batch, int channels, int spatial, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        Device.Kernel(PReLUSlopeGradientKernel, static (accelerator, key) => accelerator.LoadStreamKernel(
            (Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>)key))(
            new KernelConfig(channels, GpuLayerKernels.ChannelGroupThreads), gradient, input, slopeGradient, batch, channels, spatial);
        Device.Kernel(Keys<TEpilogue>.PReLUGradient, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, TEpilogue>(
                GpuLayerKernels.PReLUInputGradient))(batch * channels * spatial, gradient, input, slopes, channels, spatial, epilogue);
    }

    /// <summary>A softmax over each of <paramref name="rows"/> rows of <paramref name="values"/>, each result handed to
    /// <paramref name="epilogue"/> (which may write over <paramref name="values"/>).</summary>
    protected void SoftmaxRows<TEpilogue>(ArrayView<float> values, int rows, int width, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.SoftmaxRows, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, TEpilogue>(GpuLayerKernels.SoftmaxRows))(rows, values, width, epilogue);

    /// <summary>A softmax's backward in place over <paramref name="gradient"/>, from the softmax's <paramref name="output"/>.</summary>
    protected void SoftmaxRowsBackward(ArrayView<float> gradient, ArrayView<float> output, int rows, int width) =>
        Launch1D(rows, SoftmaxRowsBackwardKernel, gradient, output, width);

    /// <summary>Hands every element of a rows × width buffer, with its value, to <paramref name="epilogue"/>.</summary>
    protected void Pass<TEpilogue>(ArrayView<float> source, int rows, int width, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.Pass, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, TEpilogue>(GpuLayerKernels.Pass))(rows * width, source, width, epilogue);

    /// <summary>One key object per epilogue type and generic layer kernel (the product is keyed by the type itself), so
    /// each instantiation compiles once per device.</summary>
    static class Keys<TEpilogue>
    {
        public static readonly object PatchesToImage = new(), MaxPool = new(), MaxPoolGradient = new(), AveragePool = new(),
            AveragePoolGradient = new(), BatchNorm = new(), BatchNormGradient = new(), Pass = new(), SumSplits = new(),
            Sum = new(), PReLU = new(), PReLUGradient = new(), SoftmaxRows = new();
    }

    static readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> PReLUSlopeGradientKernel = GpuLayerKernels.PReLUSlopeGradient;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> SoftmaxRowsBackwardKernel = GpuLayerKernels.SoftmaxRowsBackward;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry> Im2PatchesKernel = GpuLayerKernels.Im2Patches;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> ToPixelMajorKernel = GpuLayerKernels.ToPixelMajor;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, float> BatchNormRunningMomentsKernel = GpuLayerKernels.BatchNormRunningMoments;
    static readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, int> BatchNormStatisticsKernel = GpuLayerKernels.BatchNormStatistics;
    static readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> BatchNormGradientSumsKernel = GpuLayerKernels.BatchNormGradientSums;

    // The kernels as delegates, each loaded once per device.
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> ColumnSums = GpuKernels.ColumnSums;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>> PenaltySums = GpuKernels.PenaltySums;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>> FlagNonFinite = GpuKernels.FlagNonFinite;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float> SoftmaxCrossEntropyKernel = GpuKernels.SoftmaxCrossEntropy;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> MeanSquaredErrorKernel = GpuKernels.MeanSquaredError;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float> BinaryCrossEntropyKernel = GpuKernels.BinaryCrossEntropy;

    void Launch1D<T1, T2, T3>(long count, Action<Index1D, T1, T2, T3> body, T1 a1, T2 a2, T3 a3) where T1 : struct where T2 : struct where T3 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3>)key))((int)count, a1, a2, a3);

    void Launch1D<T1, T2>(long count, Action<Index1D, T1, T2> body, T1 a1, T2 a2) where T1 : struct where T2 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2>)key))((int)count, a1, a2);

    void Launch1D<T1, T2, T3, T4>(long count, Action<Index1D, T1, T2, T3, T4> body, T1 a1, T2 a2, T3 a3, T4 a4)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4>)key))((int)count, a1, a2, a3, a4);

    void Launch1D<T1, T2, T3, T4, T5, T6>(long count, Action<Index1D, T1, T2, T3, T4, T5, T6> body, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6>)key))((int)count, a1, a2, a3, a4, a5, a6);

    void Launch1D<T1, T2, T3, T4, T5, T6, T7>(long count, Action<Index1D, T1, T2, T3, T4, T5, T6, T7> body, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6, T7>)key))((int)count, a1, a2, a3, a4, a5, a6, a7);

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
        scalars.Dispose();
        GC.SuppressFinalize(this);
    }
}
