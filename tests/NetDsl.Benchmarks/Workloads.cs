using NetDsl.Kernels;
using NetDsl.Optimizers;

namespace NetDsl.Benchmarks;

/// <summary>The measured work, shared by the BenchmarkDotNet suites and the quick mode: each workload is built once
/// (random data, seeded) and then runs one unit of work per <see cref="Run"/> call.</summary>
public abstract class Workload
{
    /// <summary>Items (samples, products) that one <see cref="Run"/> processes.</summary>
    public abstract int ItemsPerRun { get; }

    /// <summary>Floating-point operations of one <see cref="Run"/>, 0 where the figure is not a rate of arithmetic.</summary>
    public virtual double FlopsPerRun => 0;

    public abstract void Run();

    public static float[] RandomValues(int count, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    protected static float[] OneHot(int batch, int classes, int seed)
    {
        var random = new Random(seed);
        var targets = new float[batch * classes];
        for (int s = 0; s < batch; s++) targets[s * classes + random.Next(classes)] = 1;
        return targets;
    }
}

/// <summary>One Adam training step (forward, loss, backward, update) of a generated network on a fixed batch.</summary>
public sealed class TrainingStep(INeuralNetwork network, int batch, bool oneHotTargets) : Workload
{
    readonly float[] inputs = RandomValues(batch * network.InputSize, 1);
    readonly float[] targets = oneHotTargets ? OneHot(batch, network.OutputSize, 2) : RandomValues(batch * network.OutputSize, 2, 0.5f);
    readonly Adam optimizer = new(1e-4);

    public override int ItemsPerRun => batch;

    public override void Run() => network.TrainStep(inputs, targets, optimizer);
}

/// <summary>One prediction of a batch (inference mode).</summary>
public sealed class Prediction(INeuralNetwork network, int batch) : Workload
{
    readonly float[] inputs = RandomValues(batch * network.InputSize, 3);
    readonly float[] outputs = new float[batch * network.OutputSize];

    public override int ItemsPerRun => batch;

    public override void Run() => network.PredictBatch(inputs, outputs);
}

/// <summary>A Dense layer of <c>size × size</c> weights on a batch of <c>size</c>, forward and backward, through the
/// same products and epilogues the generated code uses: Y = X·Wᵀ + b, then dW and db = dYᵀ·[X | 1], then dX = dY·W.</summary>
public sealed class DenseLayer(int size) : Workload
{
    readonly float[] x = RandomValues(size * size, 4);
    readonly float[] weights = RandomValues(size * size, 5, 0.02f);
    // The outputs start on cache lines, as a generated network's buffers do.
    readonly AlignedBuffer<float> y = new(size * size);
    readonly float[] dy = RandomValues(size * size, 6, 0.01f);
    readonly AlignedBuffer<float> dw = new(size * size);
    readonly float[] db = new float[size];
    readonly AlignedBuffer<float> dx = new(size * size);

    public override int ItemsPerRun => 1;

    public override double FlopsPerRun => 3 * 2.0 * size * size * (double)size;

    public override void Run()
    {
        Forward();
        WeightGradient();
        InputGradient();
    }

    /// <summary>Y = X·Wᵀ.</summary>
    public void Forward()
    {
        var forward = new StoreEpilogue<float>(y.AsSpan(), size);
        Gemm.Multiply<float, StoreEpilogue<float>>(x, false, weights, true, size, size, size, ref forward);
    }

    /// <summary>dW and db = dYᵀ·[X | 1].</summary>
    public void WeightGradient()
    {
        var weightGradient = new WeightGradientEpilogue<float>(dw.AsSpan(), db, size);
        Gemm.Multiply<float, WeightGradientEpilogue<float>>(dy, true, x, false, size, size, size, ref weightGradient, appendOnesColumn: true);
    }

    /// <summary>dX = dY·W.</summary>
    public void InputGradient()
    {
        var inputGradient = new StoreEpilogue<float>(dx.AsSpan(), size);
        Gemm.Multiply<float, StoreEpilogue<float>>(dy, false, weights, false, size, size, size, ref inputGradient);
    }
}

/// <summary>One of <see cref="DenseLayer"/>'s three products alone, to see which of them a comparison's ratio comes
/// from.</summary>
public sealed class DenseProduct(int size, DenseProduct.Kind kind) : Workload
{
    public enum Kind { Forward, WeightGradient, InputGradient }

    readonly DenseLayer layer = new(size);

    public override int ItemsPerRun => 1;

    public override double FlopsPerRun => 2.0 * size * size * (double)size;

    public override void Run()
    {
        if (kind == Kind.Forward) layer.Forward();
        else if (kind == Kind.WeightGradient) layer.WeightGradient();
        else layer.InputGradient();
    }
}

/// <summary>One sample of the Fashion CNN's second convolution (32 channels of 14×14, 64 filters of 3×3, same padding),
/// through the direct product packed from the image or through Winograd's F(2×2, 3×3) with its filters transformed
/// beforehand; or the filters' transform alone.</summary>
public sealed class ConvolutionSample(ConvolutionSample.Kind kind) : Workload
{
    public enum Kind { Direct, Winograd, WeightTransform }

    const int Filters = 64;
    static readonly ConvGeometry Geometry = new(32, 14, 14, 3, 3, 1, 1, 1, 14, 14);
    readonly float[] weights = RandomValues(Filters * Geometry.PatchSize, 7, 0.1f);
    readonly float[] image = RandomValues(Geometry.InputSize, 8);
    readonly float[] columns = new float[Geometry.PatchSize * Geometry.OutputPixels];
    readonly float[] transformed = new float[Geometry.WinogradWeightsLength(Filters)];
    readonly AlignedBuffer<float> output = new(Filters * Geometry.OutputPixels);

    public override int ItemsPerRun => 1;

    public override double FlopsPerRun => kind == Kind.WeightTransform ? 0 : 2.0 * Filters * Geometry.PatchSize * Geometry.OutputPixels;

    public override void Run()
    {
        var store = new StoreEpilogue<float>(output.AsSpan(), Geometry.OutputPixels);
        if (kind == Kind.Direct) Convolution.Forward(weights, image, columns, Geometry, Filters, ref store);
        else if (kind == Kind.Winograd) Winograd.Forward(transformed, image, Geometry, Filters, ref store);
        else Winograd.TransformWeights(weights, transformed, Geometry, Filters);
    }
}
