using ILGPU;
using ILGPU.Runtime;
using NetDsl.Kernels;

namespace NetDsl.Gpu;

// The kernel launches the generated passes call: products, losses, the layers' kernels, and their cached delegates.
public abstract partial class GpuNetwork
{
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

    /// <summary>The largest split-K workspace any product takes: splits · M · N with splits ≤ TargetGroups / tiles and
    /// tiles ≥ M · N / ProductTile², so at most TargetGroups · ProductTile² values.</summary>
    internal const long MaxWorkspaceValues = (long)TargetGroups * GpuKernels.ProductTile * GpuKernels.ProductTile;

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

    /// <summary>The embedding lookup of a batch of <paramref name="length"/> ids each, each output handed to
    /// <paramref name="epilogue"/>.</summary>
    protected void Embedding<TEpilogue>(ArrayView<float> ids, ArrayView<float> table, int batch, int length, int dimension, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.Embedding, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, TEpilogue>(GpuLayerKernels.EmbeddingForward))(
            batch * dimension * length, ids, table, length, dimension, epilogue);

    /// <summary>The embedding table's gradient into <paramref name="tableGradient"/>: cleared, then each output's
    /// gradient added to its id's row.</summary>
    protected void EmbeddingGradient(ArrayView<float> ids, ArrayView<float> outputGradient, ArrayView<float> tableGradient, int batch, int length, int dimension)
    {
        tableGradient.MemSetToZero();
        Launch1D((long)batch * dimension * length, EmbeddingBackwardKernel, ids, outputGradient, tableGradient, length, dimension);
    }

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

    /// <summary>The concatenation of <paramref name="rows"/> samples, each output handed to <paramref name="epilogue"/>.</summary>
    protected void Concatenate<TEpilogue>(ArrayView<float> first, ArrayView<float> second, int rows, int firstWidth, int secondWidth, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.Concatenate, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, TEpilogue>(GpuLayerKernels.Concatenate))(
            rows * (firstWidth + secondWidth), first, second, firstWidth, secondWidth, epilogue);

    /// <summary>The leading <paramref name="width"/> values of each of <paramref name="rows"/> rows
    /// <paramref name="stride"/> apart, each handed to <paramref name="epilogue"/>.</summary>
    protected void PassLeading<TEpilogue>(ArrayView<float> source, int rows, int stride, int width, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue =>
        Device.Kernel(Keys<TEpilogue>.PassLeading, static (accelerator, _) =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, TEpilogue>(GpuLayerKernels.PassLeading))(rows * width, source, stride, width, epilogue);

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
            Sum = new(), PReLU = new(), PReLUGradient = new(), SoftmaxRows = new(), Embedding = new(), Concatenate = new(), PassLeading = new();
    }

    static readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> PReLUSlopeGradientKernel = GpuLayerKernels.PReLUSlopeGradient;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> EmbeddingBackwardKernel = GpuLayerKernels.EmbeddingBackward;
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

    void Launch1D<T1, T2, T3, T4, T5>(long count, Action<Index1D, T1, T2, T3, T4, T5> body, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5>)key))((int)count, a1, a2, a3, a4, a5);

    void Launch1D<T1, T2, T3, T4, T5, T6>(long count, Action<Index1D, T1, T2, T3, T4, T5, T6> body, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6>)key))((int)count, a1, a2, a3, a4, a5, a6);

    void Launch1D<T1, T2, T3, T4, T5, T6, T7>(long count, Action<Index1D, T1, T2, T3, T4, T5, T6, T7> body, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        Device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5, T6, T7>)key))((int)count, a1, a2, a3, a4, a5, a6, a7);
}
