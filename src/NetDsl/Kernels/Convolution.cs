using System.Numerics;

namespace NetDsl.Kernels;

/// <summary>The shape of one 2-D convolution or pooling window walk over a C×H×W sample (row-major, as PyTorch).</summary>
/// <param name="Channels">Input channels C.</param>
/// <param name="Height">Input height H.</param>
/// <param name="Width">Input width W.</param>
/// <param name="KernelHeight">Window height.</param>
/// <param name="KernelWidth">Window width.</param>
/// <param name="Stride">Step between windows, both directions.</param>
/// <param name="PadTop">Zero rows above the input (the rest of the vertical padding is below).</param>
/// <param name="PadLeft">Zero columns left of the input.</param>
/// <param name="OutputHeight">Windows per column.</param>
/// <param name="OutputWidth">Windows per row.</param>
public readonly record struct ConvGeometry(int Channels, int Height, int Width, int KernelHeight, int KernelWidth, int Stride,
    int PadTop, int PadLeft, int OutputHeight, int OutputWidth)
{
    /// <summary>Rows of the column matrix: C·KH·KW.</summary>
    public int PatchSize => Channels * KernelHeight * KernelWidth;

    /// <summary>Windows per sample: OH·OW.</summary>
    public int OutputPixels => OutputHeight * OutputWidth;

    /// <summary>Values per input sample.</summary>
    public int InputSize => Channels * Height * Width;
}

/// <summary>Convolution lowered to the shared product: im2col lays each window out as a column, so
/// <c>Z[F, OH·OW] = W[F, C·KH·KW] · columns</c>; col2im adds the columns' gradients back onto the image.</summary>
public static class Convolution
{
    /// <summary>Writes the [C·KH·KW, OH·OW] column matrix of one sample; padding reads as zero.</summary>
    public static void Im2Col<T>(ReadOnlySpan<T> image, Span<T> columns, in ConvGeometry g) where T : unmanaged, INumberBase<T>
    {
        int pixels = g.OutputPixels;
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelHeight; ky++)
                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    var row = columns.Slice(((c * g.KernelHeight + ky) * g.KernelWidth + kx) * pixels, pixels);
                    for (int oy = 0; oy < g.OutputHeight; oy++)
                    {
                        int y = oy * g.Stride + ky - g.PadTop;
                        var destination = row.Slice(oy * g.OutputWidth, g.OutputWidth);
                        if ((uint)y >= (uint)g.Height)
                        {
                            destination.Clear();
                            continue;
                        }
                        var source = image.Slice((c * g.Height + y) * g.Width, g.Width);
                        for (int ox = 0; ox < g.OutputWidth; ox++)
                        {
                            int x = ox * g.Stride + kx - g.PadLeft;
                            destination[ox] = (uint)x < (uint)g.Width ? source[x] : T.Zero;
                        }
                    }
                }
    }

    /// <summary>Adds each column-matrix gradient back to the image position it was read from (the adjoint of
    /// <see cref="Im2Col"/>); <paramref name="image"/> is accumulated into, so clear it first.</summary>
    public static void Col2ImAdd<T>(ReadOnlySpan<T> columns, Span<T> image, in ConvGeometry g) where T : unmanaged, INumberBase<T>
    {
        int pixels = g.OutputPixels;
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelHeight; ky++)
                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    var row = columns.Slice(((c * g.KernelHeight + ky) * g.KernelWidth + kx) * pixels, pixels);
                    for (int oy = 0; oy < g.OutputHeight; oy++)
                    {
                        int y = oy * g.Stride + ky - g.PadTop;
                        if ((uint)y >= (uint)g.Height) continue;
                        var destination = image.Slice((c * g.Height + y) * g.Width, g.Width);
                        var source = row.Slice(oy * g.OutputWidth, g.OutputWidth);
                        for (int ox = 0; ox < g.OutputWidth; ox++)
                        {
                            int x = ox * g.Stride + kx - g.PadLeft;
                            if ((uint)x < (uint)g.Width) destination[x] += source[ox];
                        }
                    }
                }
    }
}

/// <summary>Pooling over windows of a batch of C×H×W samples (no padding); global average pooling is the window
/// that covers the whole map.</summary>
public static class Pooling
{
    /// <summary>Each output is its window's maximum; <paramref name="argMax"/> records the winning input's index within
    /// its sample (as a number, so it lives in the same buffers) for the backward pass.</summary>
    public static void MaxForward<T>(ReadOnlySpan<T> input, Span<T> output, Span<T> argMax, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < g.Channels; c++)
            {
                int plane = (s * g.Channels + c) * g.Height * g.Width;
                int outPlane = (s * g.Channels + c) * g.OutputPixels;
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        int best = plane + oy * g.Stride * g.Width + ox * g.Stride;
                        for (int ky = 0; ky < g.KernelHeight; ky++)
                            for (int kx = 0; kx < g.KernelWidth; kx++)
                            {
                                int at = plane + (oy * g.Stride + ky) * g.Width + ox * g.Stride + kx;
                                if (input[at] > input[best]) best = at;
                            }
                        output[outPlane + oy * g.OutputWidth + ox] = input[best];
                        argMax[outPlane + oy * g.OutputWidth + ox] = T.CreateTruncating(best - s * g.InputSize);
                    }
            }
    }

    /// <summary>Routes each output gradient to the input that won its window; <paramref name="inputGradient"/> is overwritten.</summary>
    public static void MaxBackward<T>(ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> argMax, Span<T> inputGradient, int batch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        inputGradient.Clear();
        int outputs = outputGradient.Length / batch, inputs = inputGradient.Length / batch;
        for (int s = 0; s < batch; s++)
            for (int i = s * outputs; i < (s + 1) * outputs; i++)
                inputGradient[s * inputs + int.CreateTruncating(argMax[i])] += outputGradient[i];
    }

    /// <summary>Each output is its window's mean.</summary>
    public static void AverageForward<T>(ReadOnlySpan<T> input, Span<T> output, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.One / T.CreateTruncating(g.KernelHeight * g.KernelWidth);
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < g.Channels; c++)
            {
                int plane = (s * g.Channels + c) * g.Height * g.Width;
                int outPlane = (s * g.Channels + c) * g.OutputPixels;
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        T sum = T.Zero;
                        for (int ky = 0; ky < g.KernelHeight; ky++)
                            for (int kx = 0; kx < g.KernelWidth; kx++)
                                sum += input[plane + (oy * g.Stride + ky) * g.Width + ox * g.Stride + kx];
                        output[outPlane + oy * g.OutputWidth + ox] = sum * scale;
                    }
            }
    }

    /// <summary>Spreads each output gradient evenly over its window; <paramref name="inputGradient"/> is overwritten.</summary>
    public static void AverageBackward<T>(ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, in ConvGeometry g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        inputGradient.Clear();
        T scale = T.One / T.CreateTruncating(g.KernelHeight * g.KernelWidth);
        for (int s = 0; s < batch; s++)
            for (int c = 0; c < g.Channels; c++)
            {
                int plane = (s * g.Channels + c) * g.Height * g.Width;
                int outPlane = (s * g.Channels + c) * g.OutputPixels;
                for (int oy = 0; oy < g.OutputHeight; oy++)
                    for (int ox = 0; ox < g.OutputWidth; ox++)
                    {
                        T share = outputGradient[outPlane + oy * g.OutputWidth + ox] * scale;
                        for (int ky = 0; ky < g.KernelHeight; ky++)
                            for (int kx = 0; kx < g.KernelWidth; kx++)
                                inputGradient[plane + (oy * g.Stride + ky) * g.Width + ox * g.Stride + kx] += share;
                    }
            }
    }
}

/// <summary>Batch normalization over (samples × spatial positions) per channel; a Dense output is C channels of one
/// position. Training: x̂ = (z − μ_B)/√(σ²_B + ε), y = γx̂ + β, running averages r ← m·r + (1 − m)·batch value (the
/// running variance takes the unbiased batch variance, as PyTorch). Inference: the running averages replace μ_B, σ²_B.</summary>
public static class BatchNormalization
{
    /// <summary>Normalizes <paramref name="values"/> in place with batch statistics, keeping x̂ and 1/σ for backward.
    /// Running statistics (mean then variance, C each) are updated when <paramref name="running"/> is not empty.</summary>
    public static void TrainingForward<T>(Span<T> values, int batch, int channels, int spatial, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> normalized, Span<T> inverseDeviation, Span<float> running, double momentum, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double sum = 0, squares = 0;
            for (int s = 0; s < batch; s++)
                foreach (var v in values.Slice((s * channels + c) * spatial, spatial))
                    sum += double.CreateTruncating(v);
            double mean = sum / count;
            for (int s = 0; s < batch; s++)
                foreach (var v in values.Slice((s * channels + c) * spatial, spatial))
                {
                    double d = double.CreateTruncating(v) - mean;
                    squares += d * d;
                }
            double variance = squares / count;
            double inverse = 1 / Math.Sqrt(variance + epsilon);
            inverseDeviation[c] = T.CreateTruncating(inverse);
            T g = gamma[c], b = beta[c];
            for (int s = 0; s < batch; s++)
            {
                int at = (s * channels + c) * spatial;
                for (int p = 0; p < spatial; p++)
                {
                    T xHat = T.CreateTruncating((double.CreateTruncating(values[at + p]) - mean) * inverse);
                    normalized[at + p] = xHat;
                    values[at + p] = g * xHat + b;
                }
            }
            if (!running.IsEmpty)
            {
                running[c] = (float)(momentum * running[c] + (1 - momentum) * mean);
                double unbiased = count > 1 ? squares / (count - 1) : variance;
                running[channels + c] = (float)(momentum * running[channels + c] + (1 - momentum) * unbiased);
            }
        }
    }

    /// <summary>y = γ(z − r_μ)/√(r_σ² + ε) + β with the running statistics (mean then variance, C each).</summary>
    public static void InferenceForward<T>(Span<T> values, int batch, int channels, int spatial, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        ReadOnlySpan<float> running, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c = 0; c < channels; c++)
        {
            double scale = double.CreateTruncating(gamma[c]) / Math.Sqrt(running[channels + c] + epsilon);
            T multiply = T.CreateTruncating(scale);
            T add = T.CreateTruncating(double.CreateTruncating(beta[c]) - running[c] * scale);
            for (int s = 0; s < batch; s++)
            {
                var plane = values.Slice((s * channels + c) * spatial, spatial);
                for (int p = 0; p < spatial; p++) plane[p] = plane[p] * multiply + add;
            }
        }
    }

    /// <summary>Folds inference-time batch normalization into the product before it: with s = γ/√(r_σ² + ε), the weights
    /// of output unit (or filter) c become s_c·W_c and its bias s_c·(b_c − r_μ,c) + β_c. <paramref name="weights"/> holds
    /// one row per channel; an empty <paramref name="bias"/> reads as zero (the product dropped it for β).</summary>
    public static void FoldIntoProduct(ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> running, double epsilon, Span<float> foldedWeights, Span<float> foldedBias)
    {
        int channels = gamma.Length, row = weights.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            double scale = gamma[c] / Math.Sqrt(running[channels + c] + epsilon);
            for (int j = 0; j < row; j++) foldedWeights[c * row + j] = (float)(scale * weights[c * row + j]);
            foldedBias[c] = (float)(scale * ((bias.IsEmpty ? 0 : bias[c]) - running[c]) + beta[c]);
        }
    }

    /// <summary>Backward of the training forward: dγ = Σ dy·x̂, dβ = Σ dy, and in place
    /// dz = (γ/σ)/N · (N·dy − Σdy − x̂·Σ(dy·x̂)).</summary>
    public static void Backward<T>(Span<T> gradient, ReadOnlySpan<T> normalized, ReadOnlySpan<T> inverseDeviation, ReadOnlySpan<T> gamma,
        Span<T> gammaGradient, Span<T> betaGradient, int batch, int channels, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double sumDy = 0, sumDyXHat = 0;
            for (int s = 0; s < batch; s++)
            {
                int at = (s * channels + c) * spatial;
                for (int p = 0; p < spatial; p++)
                {
                    double dy = double.CreateTruncating(gradient[at + p]);
                    sumDy += dy;
                    sumDyXHat += dy * double.CreateTruncating(normalized[at + p]);
                }
            }
            gammaGradient[c] = T.CreateTruncating(sumDyXHat);
            betaGradient[c] = T.CreateTruncating(sumDy);
            double factor = double.CreateTruncating(gamma[c]) * double.CreateTruncating(inverseDeviation[c]) / count;
            for (int s = 0; s < batch; s++)
            {
                int at = (s * channels + c) * spatial;
                for (int p = 0; p < spatial; p++)
                {
                    double dy = double.CreateTruncating(gradient[at + p]);
                    gradient[at + p] = T.CreateTruncating(factor * (count * dy - sumDy - double.CreateTruncating(normalized[at + p]) * sumDyXHat));
                }
            }
        }
    }
}
