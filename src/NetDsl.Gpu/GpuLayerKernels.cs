using ILGPU;
using ILGPU.Algorithms;
using NetDsl.Kernels;
using System.ComponentModel;

namespace NetDsl.Gpu;

/// <summary>Stores a product row-major into a buffer <see cref="Width"/> columns wide.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct StoreEpilogue : IGpuEpilogue
{
    /// <summary>The destination.</summary>
    public ArrayView<float> Output;

    /// <summary>Columns per row.</summary>
    public int Width;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, float value) => Output[row * Width + column] = value;
}

/// <summary>Stores a product row-major with a bias per column: the values a softmax then normalizes.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct BiasedStoreEpilogue : IGpuEpilogue
{
    /// <summary>The destination and the bias.</summary>
    public ArrayView<float> Output, Bias;

    /// <summary>Columns per row.</summary>
    public int Width;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, float value) => Output[row * Width + column] = value + Bias[column];
}

/// <summary>Stores pixel-major rows (sample · pixels + pixel, one column per channel) into NCHW maps with a bias per
/// channel: a projected skip connection's 1×1 convolution.</summary>
public struct ChannelMapsEpilogue : IGpuEpilogue
{
    /// <summary>The maps and the bias.</summary>
    public ArrayView<float> Output, Bias;

    /// <summary>Channels and pixels per map.</summary>
    public int Channels, Pixels;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, float value) =>
        Output[(row / Pixels * Channels + column) * Pixels + row % Pixels] = value + Bias[column];
}

/// <summary>The kernels of the layers that are not products: convolution's patch layout (im2col) and its inverse,
/// pooling, batch normalization, PReLU, the skip connection's sum, softmax rows and plain passes. Every kernel that produces a layer's values hands each one to an
/// epilogue as (sample, index within the sample, value), so the generated per-layer epilogues (activation, dropout,
/// derivative) run inside it. Windows and patches follow the CPU's <see cref="ConvGeometry"/>: samples are C×H×W
/// row-major, as in PyTorch.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class GpuLayerKernels
{
    /// <summary>Threads of a group that reduces one channel (batch normalization).</summary>
    public const int ChannelGroupThreads = 256;

    /// <summary>The patch matrix of a batch: row s·OH·OW + pixel holds that window's C·KH·KW inputs (zero where it hangs
    /// over the padding), so a convolution is patches · Wᵀ. One thread per element of the matrix.</summary>
    public static void Im2Patches(Index1D i, ArrayView<float> input, ArrayView<float> patches, ConvGeometry g)
    {
        int patch = g.PatchSize, row = i / patch, column = i % patch;
        int sample = row / g.OutputPixels, pixel = row % g.OutputPixels;
        int oy = pixel / g.OutputWidth, ox = pixel % g.OutputWidth;
        int c = column / (g.KernelHeight * g.KernelWidth), k = column % (g.KernelHeight * g.KernelWidth);
        int y = oy * g.Stride - g.PadTop + k / g.KernelWidth, x = ox * g.Stride - g.PadLeft + k % g.KernelWidth;
        patches[i] = y >= 0 && y < g.Height && x >= 0 && x < g.Width ? input[sample * g.InputSize + (c * g.Height + y) * g.Width + x] : 0f;
    }

    /// <summary>The convolution's output in NCHW order from the product's pixel-major rows: the epilogue of
    /// patches · Wᵀ writes element (s·OH·OW + pixel, filter) to s·F·OH·OW + filter·OH·OW + pixel. This is the inverse,
    /// for the gradient: dZ in NCHW to pixel-major rows of F.</summary>
    public static void ToPixelMajor(Index1D i, ArrayView<float> values, ArrayView<float> pixelMajor, int channels, int pixels)
    {
        int sample = i / (channels * pixels), channel = i / pixels % channels, pixel = i % pixels;
        pixelMajor[(sample * pixels + pixel) * channels + channel] = values[i];
    }

    /// <summary>The gradient of a convolution's input from the patches' gradient (col2im): each input element gathers the
    /// entries of every patch that read it, in a fixed order, so no atomics and the same sum on every run.</summary>
    public static void PatchesToImage<TEpilogue>(Index1D i, ArrayView<float> patchGradient, ConvGeometry g, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        int sample = i / g.InputSize, at = i % g.InputSize;
        int c = at / (g.Height * g.Width), y = at / g.Width % g.Height, x = at % g.Width;
        float sum = 0;
        for (int ky = 0; ky < g.KernelHeight; ky++)
        {
            int top = y + g.PadTop - ky;
            if (top < 0 || top % g.Stride != 0 || top / g.Stride >= g.OutputHeight) continue;
            for (int kx = 0; kx < g.KernelWidth; kx++)
            {
                int left = x + g.PadLeft - kx;
                if (left < 0 || left % g.Stride != 0 || left / g.Stride >= g.OutputWidth) continue;
                int row = sample * g.OutputPixels + top / g.Stride * g.OutputWidth + left / g.Stride;
                sum += patchGradient[row * g.PatchSize + (c * g.KernelHeight + ky) * g.KernelWidth + kx];
            }
        }
        epilogue.Apply(sample, at, sum);
    }

    /// <summary>Max pooling, one thread per output: the window's maximum (ties to the first in row-major window order,
    /// as on the CPU) to the epilogue, the winner's index within its sample to <paramref name="winners"/>.</summary>
    public static void MaxPoolForward<TEpilogue>(Index1D i, ArrayView<float> input, ArrayView<float> winners, ConvGeometry g, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        int outputs = g.Channels * g.OutputPixels, sample = i / outputs, at = i % outputs;
        int c = at / g.OutputPixels, oy = at / g.OutputWidth % g.OutputHeight, ox = at % g.OutputWidth;
        int first = (c * g.Height + oy * g.Stride) * g.Width + ox * g.Stride, best = first;
        float bestValue = input[sample * g.InputSize + first];
        var (rows, columns) = g.WindowInside(oy, ox);
        for (int ky = 0; ky < rows; ky++)
            for (int kx = 0; kx < columns; kx++)
            {
                int index = first + ky * g.Width + kx;
                float value = input[sample * g.InputSize + index];
                if (value > bestValue)
                {
                    bestValue = value;
                    best = index;
                }
            }
        winners[i] = best;
        epilogue.Apply(sample, at, bestValue);
    }

    /// <summary>Max pooling's input gradient, one thread per input: the sum of the output gradients of the windows this
    /// input won.</summary>
    public static void MaxPoolBackward<TEpilogue>(Index1D i, ArrayView<float> outputGradient, ArrayView<float> winners, ConvGeometry g,
        TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        WindowsHolding(i, g, out int sample, out int at, out int plane, out int firstRow, out int lastRow, out int firstColumn, out int lastColumn);
        float sum = 0;
        for (int oy = firstRow; oy <= lastRow; oy++)
            for (int ox = firstColumn; ox <= lastColumn; ox++)
            {
                int o = plane + oy * g.OutputWidth + ox;
                if ((int)winners[o] == at) sum += outputGradient[o];
            }
        epilogue.Apply(sample, at, sum);
    }

    /// <summary>Embedding lookup, one thread per output (sample, component, position): that component of the row its id
    /// names, to the epilogue. The host checked the ids before staging them.</summary>
    public static void EmbeddingForward<TEpilogue>(Index1D i, ArrayView<float> ids, ArrayView<float> table, int length, int dimension, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        int outputs = dimension * length, sample = i / outputs, at = i % outputs;
        int id = (int)ids[sample * length + at % length];
        epilogue.Apply(sample, at, table[id * dimension + at / length]);
    }

    /// <summary>The table's gradient, one thread per output: its gradient added to its id's row (cleared before), atomically,
    /// since ids repeat across positions and samples.</summary>
    public static void EmbeddingBackward(Index1D i, ArrayView<float> ids, ArrayView<float> outputGradient, ArrayView<float> tableGradient, int length, int dimension)
    {
        int outputs = dimension * length, sample = i / outputs, at = i % outputs;
        int id = (int)ids[sample * length + at % length];
        Atomic.Add(ref tableGradient[id * dimension + at / length], outputGradient[i]);
    }

    /// <summary>Average pooling, one thread per output: the window's mean to the epilogue.</summary>
    public static void AveragePoolForward<TEpilogue>(Index1D i, ArrayView<float> input, ConvGeometry g, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        int outputs = g.Channels * g.OutputPixels, sample = i / outputs, at = i % outputs;
        int c = at / g.OutputPixels, oy = at / g.OutputWidth % g.OutputHeight, ox = at % g.OutputWidth;
        int first = sample * g.InputSize + (c * g.Height + oy * g.Stride) * g.Width + ox * g.Stride;
        float sum = 0;
        var (rows, columns) = g.WindowInside(oy, ox);
        for (int ky = 0; ky < rows; ky++)
            for (int kx = 0; kx < columns; kx++)
                sum += input[first + ky * g.Width + kx];
        epilogue.Apply(sample, at, sum / (rows * columns));
    }

    /// <summary>Average pooling's input gradient, one thread per input: its share of every window that holds it.</summary>
    public static void AveragePoolBackward<TEpilogue>(Index1D i, ArrayView<float> outputGradient, ConvGeometry g, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        WindowsHolding(i, g, out int sample, out int at, out int plane, out int firstRow, out int lastRow, out int firstColumn, out int lastColumn);
        float sum = 0;
        for (int oy = firstRow; oy <= lastRow; oy++)
            for (int ox = firstColumn; ox <= lastColumn; ox++)
            {
                var (rows, columns) = g.WindowInside(oy, ox);
                sum += outputGradient[plane + oy * g.OutputWidth + ox] / (rows * columns);
            }
        epilogue.Apply(sample, at, sum);
    }

    /// <summary>Input element <paramref name="i"/> of a batch: its sample, its index within the sample, where its
    /// channel's output plane starts, and the rows and columns of the windows (no padding) that hold it.</summary>
    static void WindowsHolding(int i, ConvGeometry g, out int sample, out int at, out int plane,
        out int firstRow, out int lastRow, out int firstColumn, out int lastColumn)
    {
        sample = i / g.InputSize;
        at = i % g.InputSize;
        plane = (sample * g.Channels + at / (g.Height * g.Width)) * g.OutputPixels;
        WindowsOf(at / g.Width % g.Height, g.KernelHeight, g.Stride, g.OutputHeight, out firstRow, out lastRow);
        WindowsOf(at % g.Width, g.KernelWidth, g.Stride, g.OutputWidth, out firstColumn, out lastColumn);
    }

    /// <summary>The windows (along one axis, no padding) that contain position <paramref name="position"/>: o·stride ≤
    /// position &lt; o·stride + kernel, within [0, outputs). Empty when first &gt; last.</summary>
    static void WindowsOf(int position, int kernel, int stride, int outputs, out int first, out int last)
    {
        int from = position - kernel + 1;
        first = from <= 0 ? 0 : (from + stride - 1) / stride;
        last = XMath.Min(position / stride, outputs - 1);
    }

    /// <summary>Batch statistics of one channel per group: the mean and 1/√(σ² + ε) into
    /// <paramref name="moments"/> (C each), and, when <paramref name="update"/> is set, the running mean and unbiased
    /// variance moved toward them, r ← m·r + (1 − m)·value (as the CPU and PyTorch). Sums are taken in double about the
    /// channel's first value, as the CPU takes them.</summary>
    public static void BatchNormStatistics(ArrayView<float> values, ArrayView<float> moments, ArrayView<float> running,
        int batch, int channels, int spatial, float momentum, float epsilon, int update)
    {
        var sums = SharedMemory.Allocate<double>(ChannelGroupThreads);
        var squares = SharedMemory.Allocate<double>(ChannelGroupThreads);
        int channel = Grid.IdxX, thread = Group.IdxX, count = batch * spatial;
        double shift = values[channel * spatial], sum = 0, square = 0;
        for (int e = thread; e < count; e += ChannelGroupThreads)
        {
            double d = values[ChannelElement(e, channel, channels, spatial)] - shift;
            sum += d;
            square += d * d;
        }
        sums[thread] = sum;
        squares[thread] = square;
        Reduce(sums, squares, thread);
        if (thread != 0) return;
        double shiftedMean = sums[0] / count, mean = shift + shiftedMean;
        double variance = XMath.Max(0.0, squares[0] / count - shiftedMean * shiftedMean);
        moments[channel] = (float)mean;
        moments[channels + channel] = (float)(1 / XMath.Sqrt(variance + epsilon));
        if (update == 0) return;
        double unbiased = count > 1 ? variance * count / (count - 1) : variance;
        running[channel] = (float)(momentum * running[channel] + (1 - momentum) * mean);
        running[channels + channel] = (float)(momentum * running[channels + channel] + (1 - momentum) * unbiased);
    }

    /// <summary>Inference's moments from the running statistics: the running mean and 1/√(r_σ² + ε).</summary>
    public static void BatchNormRunningMoments(Index1D channel, ArrayView<float> running, ArrayView<float> moments, int channels, float epsilon)
    {
        moments[channel] = running[channel];
        moments[channels + channel] = 1f / XMath.Sqrt(running[channels + channel] + epsilon);
    }

    /// <summary>x̂ = (z − μ)/σ into <paramref name="normalized"/>, γx̂ + β to the epilogue; one thread per element.</summary>
    public static void BatchNormNormalize<TEpilogue>(Index1D i, ArrayView<float> input, ArrayView<float> normalized, ArrayView<float> moments,
        ArrayView<float> gamma, ArrayView<float> beta, int channels, int spatial, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        int perSample = channels * spatial, channel = i / spatial % channels;
        float xHat = (input[i] - moments[channel]) * moments[channels + channel];
        normalized[i] = xHat;
        epilogue.Apply(i / perSample, i % perSample, gamma[channel] * xHat + beta[channel]);
    }

    /// <summary>The backward sums of one channel per group: dγ = Σ dy·x̂ and dβ = Σ dy into θ's gradient, and the
    /// coefficients of dz = a·dy + d·x̂ + b (a = γ/σ, b = −a·Σdy/N, d = −a·Σ(dy·x̂)/N) into
    /// <paramref name="coefficients"/> (a, b, d; C each).</summary>
    public static void BatchNormGradientSums(ArrayView<float> gradient, ArrayView<float> normalized, ArrayView<float> moments,
        ArrayView<float> gamma, ArrayView<float> gammaGradient, ArrayView<float> betaGradient, ArrayView<float> coefficients,
        int batch, int channels, int spatial)
    {
        var sums = SharedMemory.Allocate<double>(ChannelGroupThreads);
        var products = SharedMemory.Allocate<double>(ChannelGroupThreads);
        int channel = Grid.IdxX, thread = Group.IdxX, count = batch * spatial;
        double sum = 0, product = 0;
        for (int e = thread; e < count; e += ChannelGroupThreads)
        {
            int at = ChannelElement(e, channel, channels, spatial);
            double dy = gradient[at];
            sum += dy;
            product += dy * normalized[at];
        }
        sums[thread] = sum;
        products[thread] = product;
        Reduce(sums, products, thread);
        if (thread != 0) return;
        gammaGradient[channel] = (float)products[0];
        betaGradient[channel] = (float)sums[0];
        double a = (double)gamma[channel] * moments[channels + channel];
        coefficients[channel] = (float)a;
        coefficients[channels + channel] = (float)(-a * sums[0] / count);
        coefficients[2 * channels + channel] = (float)(-a * products[0] / count);
    }

    /// <summary>dz = a·dy + d·x̂ + b to the epilogue (which applies the derivative of the layer before); one thread per
    /// element.</summary>
    public static void BatchNormInputGradient<TEpilogue>(Index1D i, ArrayView<float> gradient, ArrayView<float> normalized,
        ArrayView<float> coefficients, int channels, int spatial, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        int perSample = channels * spatial, channel = i / spatial % channels;
        float dz = coefficients[channel] * gradient[i] + coefficients[2 * channels + channel] * normalized[i] + coefficients[channels + channel];
        epilogue.Apply(i / perSample, i % perSample, dz);
    }

    /// <summary>Hands element i of a buffer of rows <paramref name="width"/> wide to the epilogue: a layer that only
    /// applies an activation or dropout, or a gradient passed on unchanged.</summary>
    public static void Pass<TEpilogue>(Index1D i, ArrayView<float> source, int width, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue =>
        epilogue.Apply(i / width, i % width, source[i]);

    /// <summary>A skip connection's sum, first[i] + second[i], to the epilogue; one thread per element.</summary>
    public static void Sum<TEpilogue>(Index1D i, ArrayView<float> first, ArrayView<float> second, int width, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        epilogue.Apply(i / width, i % width, first[i] + second[i]);

    /// <summary>A concatenation, each sample's first-input values then its second's, to the epilogue; one thread per
    /// output element.</summary>
    public static void Concatenate<TEpilogue>(Index1D i, ArrayView<float> first, ArrayView<float> second, int firstWidth, int secondWidth,
        TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        int width = firstWidth + secondWidth, sample = i / width, at = i % width;
        epilogue.Apply(sample, at, at < firstWidth ? first[sample * firstWidth + at] : second[sample * secondWidth + at - firstWidth]);
    }

    /// <summary>The leading <paramref name="width"/> values of each row <paramref name="stride"/> apart (a concatenation's
    /// first input's gradient) to the epilogue; one thread per value passed.</summary>
    public static void PassLeading<TEpilogue>(Index1D i, ArrayView<float> source, int stride, int width, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue =>
        epilogue.Apply(i / width, i % width, source[i / width * stride + i % width]);

    /// <summary>PReLU, z &gt; 0 ? z : a_c·z with a learned slope per channel, to the epilogue; one thread per element.</summary>
    public static void PReLUForward<TEpilogue>(Index1D i, ArrayView<float> input, ArrayView<float> slopes, int channels, int spatial,
        TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        int perSample = channels * spatial;
        float z = input[i];
        epilogue.Apply(i / perSample, i % perSample, z > 0 ? z : slopes[i / spatial % channels] * z);
    }

    /// <summary>PReLU's slope gradient, one channel per group: da_c = Σ g·z over z ≤ 0.</summary>
    public static void PReLUSlopeGradient(ArrayView<float> gradient, ArrayView<float> input, ArrayView<float> slopeGradient,
        int batch, int channels, int spatial)
    {
        var sums = SharedMemory.Allocate<double>(ChannelGroupThreads);
        int channel = Grid.IdxX, thread = Group.IdxX, count = batch * spatial;
        double sum = 0;
        for (int e = thread; e < count; e += ChannelGroupThreads)
        {
            int at = ChannelElement(e, channel, channels, spatial);
            float z = input[at];
            if (z <= 0) sum += (double)gradient[at] * z;
        }
        sums[thread] = sum;
        Reduce(sums, thread);
        if (thread == 0) slopeGradient[channel] = (float)sums[0];
    }

    /// <summary>PReLU's input gradient, g where z &gt; 0 and a_c·g elsewhere, to the epilogue; one thread per element.</summary>
    public static void PReLUInputGradient<TEpilogue>(Index1D i, ArrayView<float> gradient, ArrayView<float> input, ArrayView<float> slopes,
        int channels, int spatial, TEpilogue epilogue) where TEpilogue : struct, IGpuEpilogue
    {
        int perSample = channels * spatial;
        float g = gradient[i];
        epilogue.Apply(i / perSample, i % perSample, input[i] > 0 ? g : slopes[i / spatial % channels] * g);
    }

    /// <summary>A softmax over each row of <paramref name="width"/> values, one thread per row (a sample), each result
    /// handed to the epilogue (which applies dropout and stores). The row is read three times and written through the
    /// epilogue last, so the epilogue may write over <paramref name="values"/>.</summary>
    public static void SoftmaxRows<TEpilogue>(Index1D row, ArrayView<float> values, int width, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        int start = row * width;
        float max = values[start];
        for (int j = 1; j < width; j++) max = XMath.Max(max, values[start + j]);
        float sum = 0;
        for (int j = 0; j < width; j++) sum += XMath.Exp(values[start + j] - max);
        float inverse = 1f / sum;
        for (int j = 0; j < width; j++) epilogue.Apply(row, j, XMath.Exp(values[start + j] - max) * inverse);
    }

    /// <summary>A softmax's backward in place, one thread per row: g ← a ⊙ (g − Σ g·a), with a the softmax's output.</summary>
    public static void SoftmaxRowsBackward(Index1D row, ArrayView<float> gradient, ArrayView<float> output, int width)
    {
        int start = row * width;
        float dot = 0;
        for (int j = start; j < start + width; j++) dot += gradient[j] * output[j];
        for (int j = start; j < start + width; j++) gradient[j] = output[j] * (gradient[j] - dot);
    }

    /// <summary>Element <paramref name="e"/> of a channel's batch × spatial values in a C×H×W batch: sample e / spatial,
    /// position e % spatial.</summary>
    static int ChannelElement(int e, int channel, int channels, int spatial) => (e / spatial * channels + channel) * spatial + e % spatial;

    /// <summary>Tree sum of a per-thread array of a <see cref="ChannelGroupThreads"/> group into element 0.</summary>
    static void Reduce(ArrayView<double> values, int thread)
    {
        Group.Barrier();
        for (int half = ChannelGroupThreads / 2; half > 0; half /= 2)
        {
            if (thread < half) values[thread] += values[thread + half];
            Group.Barrier();
        }
    }

    /// <summary>Tree sum of two per-thread arrays of a <see cref="ChannelGroupThreads"/> group into element 0.</summary>
    static void Reduce(ArrayView<double> first, ArrayView<double> second, int thread)
    {
        Group.Barrier();
        for (int half = ChannelGroupThreads / 2; half > 0; half /= 2)
        {
            if (thread < half)
            {
                first[thread] += first[thread + half];
                second[thread] += second[thread + half];
            }
            Group.Barrier();
        }
    }
}
