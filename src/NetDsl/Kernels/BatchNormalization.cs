using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetDsl.Kernels;

/// <summary>Batch normalization over (samples × spatial positions) per channel; a Dense output is C channels of one
/// position. Training: x̂ = (z − μ_B)/√(σ²_B + ε), y = γx̂ + β, running averages r ← m·r + (1 − m)·batch value (the
/// running variance takes the unbiased batch variance, as PyTorch). Inference: the running averages replace μ_B, σ²_B.</summary>
/// <remarks>Each plane (one sample's positions of one channel) is walked with vectors; sums are gathered per plane in
/// <typeparamref name="T"/> and across planes in double. Channels are shared between the two cores when there is
/// enough work.</remarks>
public static unsafe class BatchNormalization
{
    /// <summary>Values below which one core normalizes the whole batch.</summary>
    const int SharedWorkThreshold = 16 * 1024;

    /// <summary>One call's operands, on the caller's stack while both cores work on them.</summary>
    ref struct Job<T>(ReadOnlySpan<T> input, Span<T> values, Span<T> gradient, ReadOnlySpan<T> normalized, ReadOnlySpan<T> inverseDeviation, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> statistic, Span<T> gammaGradient, Span<T> betaGradient, Span<float> running, int batch, int channels,
        int spatial, double momentum, double epsilon) where T : unmanaged
    {
        public Span<T> Values = values, Gradient = gradient, Statistic = statistic, GammaGradient = gammaGradient, BetaGradient = betaGradient;
        public ReadOnlySpan<T> Input = input, Normalized = normalized, InverseDeviation = inverseDeviation, Gamma = gamma, Beta = beta;
        public Span<float> Running = running;
        public int Batch = batch, Channels = channels, Spatial = spatial;
        public bool ReLU;
        public double Momentum = momentum, Epsilon = epsilon;
    }

    static void Share<T>(ref Job<T> job, delegate*<ref Job<T>, int, int, void> channelsBody, delegate*<void*, int, void> part) where T : unmanaged
    {
        if (WorkSharing.Parts > 1 && job.Channels > 1 && job.Batch * job.Channels * job.Spatial >= SharedWorkThreshold)
            WorkSharing.Run(part, Unsafe.AsPointer(ref job));
        else
            channelsBody(ref job, 0, job.Channels);
    }

    /// <summary>Normalizes <paramref name="values"/> in place with batch statistics, keeping x̂ and 1/σ for backward.
    /// Running statistics (mean then variance, C each) are updated when <paramref name="running"/> is not empty.</summary>
    public static void TrainingForward<T>(Span<T> values, int batch, int channels, int spatial, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> normalized, Span<T> inverseDeviation, Span<float> running, double momentum, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        TrainingForward(values, values, batch, channels, spatial, gamma, beta, normalized, inverseDeviation, running, momentum, epsilon);

    /// <summary>The training forward from <paramref name="input"/> into <paramref name="output"/> (which may be the same
    /// memory): one pass fewer over the activations than copying first. With <paramref name="relu"/> the output is
    /// max(γx̂ + β, 0), the ReLU that follows taken in the same pass.</summary>
    public static void TrainingForward<T>(ReadOnlySpan<T> input, Span<T> output, int batch, int channels, int spatial, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> normalized, Span<T> inverseDeviation, Span<float> running, double momentum, double epsilon, bool relu = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(input.Length, batch, channels, spatial, nameof(input));
        Check(output.Length, batch, channels, spatial, nameof(output));
        Check(normalized.Length, batch, channels, spatial, nameof(normalized));
        // x̂ goes to the job's Gradient slot (the forward pass has no gradient), 1/σ to its Statistic slot.
        var job = new Job<T>(input, output, normalized, default, default, gamma, beta, inverseDeviation, default, default, running,
            batch, channels, spatial, momentum, epsilon);
        job.ReLU = relu;
        Share(ref job, &ForwardChannels, &ForwardPart<T>);
    }

    static void ForwardPart<T>(void* job, int part) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref var j = ref Unsafe.AsRef<Job<T>>(job);
        var (first, last) = WorkSharing.Range(j.Channels, part);
        ForwardChannels(ref j, first, last);
    }

    static void ForwardChannels<T>(ref Job<T> job, int first, int last) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = job.Batch * job.Spatial, channels = job.Channels, spatial = job.Spatial;
        for (int c = first; c < last; c++)
        {
            // Sums are taken about the channel's first value: a shift that keeps the one-pass variance accurate.
            T shift = job.Input[c * spatial];
            double sum = 0, squares = 0;
            for (int s = 0; s < job.Batch; s++)
            {
                var (planeSum, planeSquares) = ShiftedSums(job.Input.Slice((s * channels + c) * spatial, spatial), shift);
                sum += planeSum;
                squares += planeSquares;
            }
            double shiftedMean = sum / count;
            double mean = double.CreateTruncating(shift) + shiftedMean;
            double variance = Math.Max(0, squares / count - shiftedMean * shiftedMean);
            double inverse = 1 / Math.Sqrt(variance + job.Epsilon);
            job.Statistic[c] = T.CreateTruncating(inverse);
            T g = job.Gamma[c], b = job.Beta[c], m = T.CreateTruncating(mean), scale = T.CreateTruncating(inverse);
            for (int s = 0; s < job.Batch; s++)
            {
                int at = (s * channels + c) * spatial;
                Normalize(job.Input.Slice(at, spatial), job.Values.Slice(at, spatial), job.Gradient.Slice(at, spatial), m, scale, g, b, job.ReLU);
            }
            if (!job.Running.IsEmpty)
            {
                job.Running[c] = (float)(job.Momentum * job.Running[c] + (1 - job.Momentum) * mean);
                double unbiased = count > 1 ? variance * count / (count - 1) : variance;
                job.Running[channels + c] = (float)(job.Momentum * job.Running[channels + c] + (1 - job.Momentum) * unbiased);
            }
        }
    }

    /// <summary>Σ(v − shift) and Σ(v − shift)² over one plane.</summary>
    static (double Sum, double Squares) ShiftedSums<T>(ReadOnlySpan<T> plane, T shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T x = ref MemoryMarshal.GetReference(plane);
        int i = 0;
        T sum = T.Zero, squares = T.Zero;
        if (Vector.IsHardwareAccelerated && plane.Length >= Vector<T>.Count)
        {
            Vector<T> vectorSum = Vector<T>.Zero, vectorSquares = Vector<T>.Zero, k = new(shift);
            for (; i <= plane.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var d = Vector.LoadUnsafe(ref x, (nuint)i) - k;
                vectorSum += d;
                vectorSquares += d * d;
            }
            sum = Vector.Sum(vectorSum);
            squares = Vector.Sum(vectorSquares);
        }
        for (; i < plane.Length; i++)
        {
            T d = Unsafe.Add(ref x, i) - shift;
            sum += d;
            squares += d * d;
        }
        return (double.CreateTruncating(sum), double.CreateTruncating(squares));
    }

    /// <summary>x̂ = (v − mean)·scale into <paramref name="normalized"/>, γx̂ + β into <paramref name="values"/>.</summary>
    static void Normalize<T>(ReadOnlySpan<T> input, Span<T> values, Span<T> normalized, T mean, T scale, T gamma, T beta, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T x = ref MemoryMarshal.GetReference(input);
        ref T v = ref MemoryMarshal.GetReference(values);
        ref T n = ref MemoryMarshal.GetReference(normalized);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<T> m = new(mean), s = new(scale), g = new(gamma), b = new(beta);
            for (; i <= values.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var xHat = (Vector.LoadUnsafe(ref x, (nuint)i) - m) * s;
                xHat.StoreUnsafe(ref n, (nuint)i);
                var y = g * xHat + b;
                (relu ? Vector.Max(y, Vector<T>.Zero) : y).StoreUnsafe(ref v, (nuint)i);
            }
        }
        for (; i < values.Length; i++)
        {
            T xHat = (Unsafe.Add(ref x, i) - mean) * scale;
            Unsafe.Add(ref n, i) = xHat;
            T y = gamma * xHat + beta;
            Unsafe.Add(ref v, i) = relu ? T.Max(y, T.Zero) : y;
        }
    }

    /// <summary>y = γ(z − r_μ)/√(r_σ² + ε) + β with the running statistics (mean then variance, C each).</summary>
    public static void InferenceForward<T>(Span<T> values, int batch, int channels, int spatial, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        ReadOnlySpan<float> running, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(values.Length, batch, channels, spatial, nameof(values));
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
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Backward(gradient, gradient, normalized, inverseDeviation, gamma, gammaGradient, betaGradient, batch, channels, spatial);

    /// <summary>The backward pass reading dy from <paramref name="outputGradient"/> and writing dz into
    /// <paramref name="inputGradient"/> (which may be the same memory).</summary>
    public static void Backward<T>(ReadOnlySpan<T> outputGradient, Span<T> inputGradient, ReadOnlySpan<T> normalized, ReadOnlySpan<T> inverseDeviation,
        ReadOnlySpan<T> gamma, Span<T> gammaGradient, Span<T> betaGradient, int batch, int channels, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(outputGradient.Length, batch, channels, spatial, nameof(outputGradient));
        Check(inputGradient.Length, batch, channels, spatial, nameof(inputGradient));
        Check(normalized.Length, batch, channels, spatial, nameof(normalized));
        // dy travels in the job's Input slot, dz in its Values slot.
        var job = new Job<T>(outputGradient, inputGradient, default, normalized, inverseDeviation, gamma, default, default, gammaGradient, betaGradient, default,
            batch, channels, spatial, 0, 0);
        Share(ref job, &BackwardChannels, &BackwardPart<T>);
    }

    static void BackwardPart<T>(void* job, int part) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref var j = ref Unsafe.AsRef<Job<T>>(job);
        var (first, last) = WorkSharing.Range(j.Channels, part);
        BackwardChannels(ref j, first, last);
    }

    static void BackwardChannels<T>(ref Job<T> job, int first, int last) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = job.Batch * job.Spatial, channels = job.Channels, spatial = job.Spatial;
        for (int c = first; c < last; c++)
        {
            double sumDy = 0, sumDyXHat = 0;
            for (int s = 0; s < job.Batch; s++)
            {
                int at = (s * channels + c) * spatial;
                var (planeDy, planeDyXHat) = GradientSums<T>(job.Input.Slice(at, spatial), job.Normalized.Slice(at, spatial));
                sumDy += planeDy;
                sumDyXHat += planeDyXHat;
            }
            job.GammaGradient[c] = T.CreateTruncating(sumDyXHat);
            job.BetaGradient[c] = T.CreateTruncating(sumDy);
            double factor = double.CreateTruncating(job.Gamma[c]) * double.CreateTruncating(job.InverseDeviation[c]) / count;
            // dz = a·dy + x̂·d + b with a = factor·N, d = −factor·Σ(dy·x̂), b = −factor·Σdy.
            T a = T.CreateTruncating(factor * count), b = T.CreateTruncating(-factor * sumDy), d = T.CreateTruncating(-factor * sumDyXHat);
            for (int s = 0; s < job.Batch; s++)
            {
                int at = (s * channels + c) * spatial;
                InputGradient(job.Input.Slice(at, spatial), job.Values.Slice(at, spatial), job.Normalized.Slice(at, spatial), a, b, d);
            }
        }
    }

    static (double SumDy, double SumDyXHat) GradientSums<T>(ReadOnlySpan<T> gradient, ReadOnlySpan<T> normalized) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T g = ref MemoryMarshal.GetReference(gradient);
        ref T n = ref MemoryMarshal.GetReference(normalized);
        int i = 0;
        T sumDy = T.Zero, sumDyXHat = T.Zero;
        if (Vector.IsHardwareAccelerated && gradient.Length >= Vector<T>.Count)
        {
            Vector<T> vectorDy = Vector<T>.Zero, vectorDyXHat = Vector<T>.Zero;
            for (; i <= gradient.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var dy = Vector.LoadUnsafe(ref g, (nuint)i);
                vectorDy += dy;
                vectorDyXHat += dy * Vector.LoadUnsafe(ref n, (nuint)i);
            }
            sumDy = Vector.Sum(vectorDy);
            sumDyXHat = Vector.Sum(vectorDyXHat);
        }
        for (; i < gradient.Length; i++)
        {
            sumDy += Unsafe.Add(ref g, i);
            sumDyXHat += Unsafe.Add(ref g, i) * Unsafe.Add(ref n, i);
        }
        return (double.CreateTruncating(sumDy), double.CreateTruncating(sumDyXHat));
    }

    static void InputGradient<T>(ReadOnlySpan<T> gradient, Span<T> destination, ReadOnlySpan<T> normalized, T a, T b, T d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T g = ref MemoryMarshal.GetReference(gradient);
        ref T z = ref MemoryMarshal.GetReference(destination);
        ref T n = ref MemoryMarshal.GetReference(normalized);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<T> va = new(a), vb = new(b), vd = new(d);
            for (; i <= gradient.Length - Vector<T>.Count; i += Vector<T>.Count)
                (va * Vector.LoadUnsafe(ref g, (nuint)i) + vd * Vector.LoadUnsafe(ref n, (nuint)i) + vb).StoreUnsafe(ref z, (nuint)i);
        }
        for (; i < gradient.Length; i++) Unsafe.Add(ref z, i) = a * Unsafe.Add(ref g, i) + b + d * Unsafe.Add(ref n, i);
    }

    static void Check(int length, int batch, int channels, int spatial, string name)
    {
        if (length < batch * channels * spatial)
            throw new ArgumentException($"{name} holds {length} values but {batch} samples of {channels} channels × {spatial} positions need {batch * channels * spatial}.", name);
    }
}
