using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Batch normalization over (samples × spatial positions) per channel; a Dense output is C channels of one
/// position. Training: x̂ = (z − μ_B)/√(σ²_B + ε), y = γx̂ + β, running averages r ← m·r + (1 − m)·batch value (the
/// running variance takes the unbiased batch variance, as PyTorch). Inference: the running averages replace μ_B, σ²_B.</summary>
/// <remarks>Each plane (one sample's positions of one channel) is walked with vectors; sums are gathered per plane in
/// the element type and across planes in double. Channels are shared between the two cores when there is
/// enough work. x̂ is not kept: backward takes it again from the input z and the batch mean (z is kept anyway, as the
/// output of the step before), which spares writing a tensor the size of the activations and reading it back.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class BatchNormalization
{
    const int SharedWorkThreshold = SharingTuning.BatchNormValues;

    /// <summary>The group whose ranks' batches the training passes of this thread normalize over together; null: each
    /// batch over itself.</summary>
    [ThreadStatic] static Training.IDataParallelGroup? synchronized;

    /// <summary>Until the scope is disposed, training BatchNorm on this thread takes its statistics over the batches of
    /// every rank of <paramref name="group"/> (PyTorch's SyncBatchNorm): the forward pass sums Σz, then Σ(z − μ)², over
    /// the ranks, and the backward pass Σdy and Σdy·(z − μ), so the ranks normalize as one process would normalize their
    /// batches joined. Each rank's gradients stay those of its own mean loss, to be averaged with the others' weighted by
    /// batch size, as the data-parallel trainer does.</summary>
    public static SynchronizedScope Synchronize(Training.IDataParallelGroup group)
    {
        var scope = new SynchronizedScope(synchronized);
        synchronized = group;
        return scope;
    }

    /// <summary>Puts back the group that was synchronized before <see cref="Synchronize"/>.</summary>
    public readonly struct SynchronizedScope(Training.IDataParallelGroup? previous) : IDisposable
    {
        /// <summary>Ends the synchronization.</summary>
        public void Dispose() => synchronized = previous;
    }

    /// <summary>One call's operands, on the caller's stack while both cores work on them.</summary>
    /// <remarks>Forward: z in <see cref="Input"/>, y into <see cref="Values"/>, μ and 1/σ into <see cref="Mean"/> and
    /// <see cref="InverseDeviation"/>. Backward: dy in <see cref="Input"/>, dz into <see cref="Values"/>, z in
    /// <see cref="ForwardInput"/>, μ and 1/σ from <see cref="SavedMean"/> and <see cref="SavedInverseDeviation"/>.</remarks>
    ref struct Job<T> : ISampleLoop where T : unmanaged
    {
        public ReadOnlySpan<T> Input, ForwardInput, Gamma, Beta, SavedMean, SavedInverseDeviation;
        public Span<T> Values, Mean, InverseDeviation, GammaGradient, BetaGradient;
        public Span<float> Running;
        /// <summary>The running statistics an inference pass reads.</summary>
        public ReadOnlySpan<float> RunningRead;
        public int Batch, Channels, Spatial;
        public bool ReLU, Normalized;
        public double Momentum, Epsilon;
        /// <summary>The pass over a range of channels: forward or backward.</summary>
        public delegate*<ref Job<T>, int, int, void> Channel;

        public void Run(int first, int last, int part) => Channel(ref this, first, last);
    }

    /// <summary>Channels are independent, so a large batch's channels are split between the cores.</summary>
    static void Share<T>(ref Job<T> job, delegate*<ref Job<T>, int, int, void> channels, int threshold = SharedWorkThreshold) where T : unmanaged
    {
        job.Channel = channels;
        WorkSharing.Split(ref job, job.Channels, share: job.Batch * job.Channels * job.Spatial >= threshold);
    }

    /// <summary>Normalizes <paramref name="input"/> z with batch statistics into <paramref name="output"/> (other
    /// memory: backward reads z again), keeping the batch mean μ and 1/σ per channel for backward. Running statistics
    /// (mean then variance, C each) are updated when <paramref name="running"/> is not empty. With
    /// <paramref name="relu"/> the output is max(γx̂ + β, 0), the ReLU that follows taken in the same pass.</summary>
    public static void TrainingForward<T>(ReadOnlySpan<T> input, Span<T> output, int batch, int channels, int spatial, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> mean, Span<T> inverseDeviation, Span<float> running, double momentum, double epsilon, bool relu = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(input.Length, batch, channels, spatial, nameof(input));
        Check(output.Length, batch, channels, spatial, nameof(output));
        CheckChannels(mean.Length, channels, nameof(mean));
        CheckChannels(inverseDeviation.Length, channels, nameof(inverseDeviation));
        if (input.Overlaps(output))
            throw new ArgumentException("The output must not overlap the input: backward reads the input again.", nameof(output));
        if (synchronized is { } group)
        {
            SynchronizedForward(group, input, output, batch, channels, spatial, gamma, beta, mean, inverseDeviation, running, momentum, epsilon, relu);
            return;
        }
        var job = new Job<T>
        {
            Input = input, Values = output, Mean = mean, InverseDeviation = inverseDeviation, Gamma = gamma, Beta = beta, Running = running,
            Batch = batch, Channels = channels, Spatial = spatial, Momentum = momentum, Epsilon = epsilon, ReLU = relu,
        };
        Share(ref job, &ForwardChannels);
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
                if (s + 1 < job.Batch) Prefetch(job.Input.Slice(((s + 1) * channels + c) * spatial, spatial));
                var (planeSum, planeSquares) = ShiftedSums(job.Input.Slice((s * channels + c) * spatial, spatial), shift);
                sum += planeSum;
                squares += planeSquares;
            }
            double shiftedMean = sum / count;
            double mean = double.CreateTruncating(shift) + shiftedMean;
            double variance = Math.Max(0, squares / count - shiftedMean * shiftedMean);
            double inverse = 1 / Math.Sqrt(variance + job.Epsilon);
            T m = T.CreateTruncating(mean), scale = T.CreateTruncating(inverse);
            job.Mean[c] = m;
            job.InverseDeviation[c] = scale;
            // y = γ(z − μ)/σ + β = a·(z − μ) + β; centred first, as a·z − a·μ would cancel when |μ| ≫ σ.
            T a = job.Gamma[c] * scale, b = job.Beta[c];
            for (int s = 0; s < job.Batch; s++)
            {
                int at = (s * channels + c) * spatial;
                Normalize(job.Input.Slice(at, spatial), job.Values.Slice(at, spatial), m, a, b, job.ReLU);
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

    /// <summary>a·(z − μ) + b (then max with 0 under <paramref name="relu"/>) into <paramref name="values"/>.</summary>
    static void Normalize<T>(ReadOnlySpan<T> input, Span<T> values, T mean, T a, T b, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T x = ref MemoryMarshal.GetReference(input);
        ref T v = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<T> m = new(mean), va = new(a), vb = new(b);
            for (; i <= values.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var y = va * (Vector.LoadUnsafe(ref x, (nuint)i) - m) + vb;
                (relu ? Vector.Max(y, Vector<T>.Zero) : y).StoreUnsafe(ref v, (nuint)i);
            }
        }
        for (; i < values.Length; i++)
        {
            T y = a * (Unsafe.Add(ref x, i) - mean) + b;
            Unsafe.Add(ref v, i) = relu ? T.Max(y, T.Zero) : y;
        }
    }

    /// <summary>A frozen BatchNorm in a training pass (PyTorch's <c>eval()</c> of the module): normalizes
    /// <paramref name="input"/> with the running statistics into <paramref name="output"/> and leaves them as they are,
    /// keeping μ and 1/σ (the running ones) for <see cref="FrozenBackward"/>; with <paramref name="relu"/> the ReLU after it.</summary>
    public static void FrozenForward<T>(ReadOnlySpan<T> input, Span<T> output, int batch, int channels, int spatial, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> mean, Span<T> inverseDeviation, ReadOnlySpan<float> running, double epsilon, bool relu = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(input.Length, batch, channels, spatial, nameof(input));
        Check(output.Length, batch, channels, spatial, nameof(output));
        for (int c = 0; c < channels; c++)
        {
            mean[c] = T.CreateTruncating(running[c]);
            inverseDeviation[c] = T.CreateTruncating(1 / Math.Sqrt(running[channels + c] + epsilon));
            T a = gamma[c] * inverseDeviation[c];
            for (int s = 0; s < batch; s++)
            {
                int at = (s * channels + c) * spatial;
                Normalize(input.Slice(at, spatial), output.Slice(at, spatial), mean[c], a, beta[c], relu);
            }
        }
    }

    /// <summary>The backward of <see cref="FrozenForward"/>: with fixed statistics the layer is an affine map per
    /// channel, dz = γ/σ · dy (into <paramref name="inputGradient"/>, which may be dy's memory); γ and β, frozen, get no
    /// gradient.</summary>
    public static void FrozenBackward<T>(ReadOnlySpan<T> outputGradient, Span<T> inputGradient, ReadOnlySpan<T> inverseDeviation, ReadOnlySpan<T> gamma,
        int batch, int channels, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(outputGradient.Length, batch, channels, spatial, nameof(outputGradient));
        Check(inputGradient.Length, batch, channels, spatial, nameof(inputGradient));
        for (int c = 0; c < channels; c++)
        {
            T scale = gamma[c] * inverseDeviation[c];
            for (int s = 0; s < batch; s++)
            {
                int at = (s * channels + c) * spatial;
                InputGradient(outputGradient.Slice(at, spatial), inputGradient.Slice(at, spatial), outputGradient.Slice(at, spatial), T.Zero, scale, T.Zero, T.Zero);
            }
        }
    }

    /// <summary>Inference: y = γ(z − r_μ)/√(r_σ² + ε) + β with the running statistics (mean then variance, C each),
    /// from <paramref name="input"/> into <paramref name="output"/>, in one pass shared between the cores by channels;
    /// with <paramref name="normalized"/> the input is already y (the product before it folded the normalization in) and
    /// is only copied; with <paramref name="relu"/> the ReLU after it is taken in the same pass.</summary>
    public static void InferenceForward<T>(ReadOnlySpan<T> input, Span<T> output, int batch, int channels, int spatial, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, ReadOnlySpan<float> running, double epsilon, bool normalized, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(input.Length, batch, channels, spatial, nameof(input));
        Check(output.Length, batch, channels, spatial, nameof(output));
        var job = new Job<T>
        {
            Input = input, Values = output, Gamma = gamma, Beta = beta, RunningRead = running,
            Batch = batch, Channels = channels, Spatial = spatial, Epsilon = epsilon, ReLU = relu, Normalized = normalized,
        };
        Share(ref job, &InferenceChannels, SharingTuning.InferenceBatchNormValues);
    }

    static void InferenceChannels<T>(ref Job<T> job, int first, int last) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = job.Channels, spatial = job.Spatial;
        for (int c = first; c < last; c++)
        {
            // Normalized already: a·(z − 0) + 0 with a = 1 is z itself, bit for bit.
            T mean = job.Normalized ? T.Zero : T.CreateTruncating(job.RunningRead[c]);
            T a = job.Normalized ? T.One : T.CreateTruncating(double.CreateTruncating(job.Gamma[c]) / Math.Sqrt(job.RunningRead[channels + c] + job.Epsilon));
            T b = job.Normalized ? T.Zero : job.Beta[c];
            for (int s = 0; s < job.Batch; s++)
            {
                int at = (s * channels + c) * spatial;
                Normalize(job.Input.Slice(at, spatial), job.Values.Slice(at, spatial), mean, a, b, job.ReLU);
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

    /// <summary>Backward of the training forward, reading dy from <paramref name="outputGradient"/> and writing dz
    /// into <paramref name="inputGradient"/> (which may be the same memory): with x̂ = (z − μ)/σ taken again from the
    /// forward's <paramref name="input"/> z and its <paramref name="mean"/> and <paramref name="inverseDeviation"/>,
    /// dγ = Σ dy·x̂, dβ = Σ dy and dz = (γ/σ)/N · (N·dy − Σdy − x̂·Σ(dy·x̂)).</summary>
    public static void Backward<T>(ReadOnlySpan<T> outputGradient, Span<T> inputGradient, ReadOnlySpan<T> input, ReadOnlySpan<T> mean,
        ReadOnlySpan<T> inverseDeviation, ReadOnlySpan<T> gamma, Span<T> gammaGradient, Span<T> betaGradient, int batch, int channels, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(outputGradient.Length, batch, channels, spatial, nameof(outputGradient));
        Check(inputGradient.Length, batch, channels, spatial, nameof(inputGradient));
        Check(input.Length, batch, channels, spatial, nameof(input));
        CheckChannels(mean.Length, channels, nameof(mean));
        CheckChannels(inverseDeviation.Length, channels, nameof(inverseDeviation));
        if (synchronized is { } group)
        {
            SynchronizedBackward(group, outputGradient, inputGradient, input, mean, inverseDeviation, gamma, gammaGradient, betaGradient, batch, channels, spatial);
            return;
        }
        var job = new Job<T>
        {
            Input = outputGradient, Values = inputGradient, ForwardInput = input, SavedMean = mean, SavedInverseDeviation = inverseDeviation,
            Gamma = gamma, GammaGradient = gammaGradient, BetaGradient = betaGradient, Batch = batch, Channels = channels, Spatial = spatial,
        };
        Share(ref job, &BackwardChannels);
    }

    static void BackwardChannels<T>(ref Job<T> job, int first, int last) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = job.Batch * job.Spatial, channels = job.Channels, spatial = job.Spatial;
        for (int c = first; c < last; c++)
        {
            T mean = job.SavedMean[c];
            double inverse = double.CreateTruncating(job.SavedInverseDeviation[c]);
            double sumDy = 0, sumDyCentered = 0;
            for (int s = 0; s < job.Batch; s++)
            {
                int at = (s * channels + c) * spatial;
                if (s + 1 < job.Batch)
                {
                    Prefetch(job.Input.Slice(at + channels * spatial, spatial));
                    Prefetch(job.ForwardInput.Slice(at + channels * spatial, spatial));
                }
                var (planeDy, planeDyCentered) = GradientSums<T>(job.Input.Slice(at, spatial), job.ForwardInput.Slice(at, spatial), mean);
                sumDy += planeDy;
                sumDyCentered += planeDyCentered;
            }
            double sumDyXHat = sumDyCentered * inverse;
            job.GammaGradient[c] = T.CreateTruncating(sumDyXHat);
            job.BetaGradient[c] = T.CreateTruncating(sumDy);
            double factor = double.CreateTruncating(job.Gamma[c]) * inverse / count;
            // dz = a·dy + d·(z − μ) + b with a = factor·N, d = −factor·Σ(dy·x̂)/σ, b = −factor·Σdy.
            T a = T.CreateTruncating(factor * count), b = T.CreateTruncating(-factor * sumDy), d = T.CreateTruncating(-factor * sumDyXHat * inverse);
            for (int s = 0; s < job.Batch; s++)
            {
                int at = (s * channels + c) * spatial;
                InputGradient(job.Input.Slice(at, spatial), job.Values.Slice(at, spatial), job.ForwardInput.Slice(at, spatial), mean, a, b, d);
            }
        }
    }

    /// <summary>The training forward with statistics over every rank's batch: Σz and the count summed over the ranks give
    /// μ, then Σ(z − μ)² summed over them gives σ² (two passes: the ranks' values share no shift for a one-pass sum).</summary>
    static void SynchronizedForward<T>(Training.IDataParallelGroup group, ReadOnlySpan<T> input, Span<T> output, int batch, int channels, int spatial,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> mean, Span<T> inverseDeviation, Span<float> running, double momentum, double epsilon, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rented = ArrayPool<double>.Shared.Rent(channels + 1);
        var sums = rented.AsSpan(0, channels + 1);
        try
        {
            for (int c = 0; c < channels; c++)
            {
                sums[c] = 0;
                for (int s = 0; s < batch; s++) sums[c] += ShiftedSums(input.Slice((s * channels + c) * spatial, spatial), T.Zero).Sum;
            }
            sums[channels] = (double)batch * spatial;
            group.SumAll(sums);
            double count = sums[channels];
            for (int c = 0; c < channels; c++)
            {
                mean[c] = T.CreateTruncating(sums[c] / count);
                sums[c] = 0;
                for (int s = 0; s < batch; s++) sums[c] += ShiftedSums(input.Slice((s * channels + c) * spatial, spatial), mean[c]).Squares;
            }
            group.SumAll(sums[..channels]);
            for (int c = 0; c < channels; c++)
            {
                double variance = sums[c] / count;
                inverseDeviation[c] = T.CreateTruncating(1 / Math.Sqrt(variance + epsilon));
                T a = gamma[c] * inverseDeviation[c];
                for (int s = 0; s < batch; s++)
                {
                    int at = (s * channels + c) * spatial;
                    Normalize(input.Slice(at, spatial), output.Slice(at, spatial), mean[c], a, beta[c], relu);
                }
                if (!running.IsEmpty)
                {
                    running[c] = (float)(momentum * running[c] + (1 - momentum) * double.CreateTruncating(mean[c]));
                    double unbiased = count > 1 ? variance * count / (count - 1) : variance;
                    running[channels + c] = (float)(momentum * running[channels + c] + (1 - momentum) * unbiased);
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }
    }

    /// <summary>The backward of <see cref="SynchronizedForward"/>. With this rank's n_r of the group's N positions,
    /// S₁ = Σdy and S₂ = Σdy·(z − μ) over its batch, and T = Σ_ranks n_r·S / N (the sums of the joined batch's
    /// gradient, each rank's dy being that of its own mean loss), dz = γ/σ · (dy − T₁/n_r − x̂·T₂/(σ·n_r)): the
    /// unsynchronized formula with the group's sums. dγ and dβ stay this rank's own sums.</summary>
    static void SynchronizedBackward<T>(Training.IDataParallelGroup group, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, ReadOnlySpan<T> input,
        ReadOnlySpan<T> mean, ReadOnlySpan<T> inverseDeviation, ReadOnlySpan<T> gamma, Span<T> gammaGradient, Span<T> betaGradient,
        int batch, int channels, int spatial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rented = ArrayPool<double>.Shared.Rent(2 * channels + 1);
        var sums = rented.AsSpan(0, 2 * channels + 1);
        try
        {
            double local = (double)batch * spatial;
            for (int c = 0; c < channels; c++)
            {
                double sumDy = 0, sumDyCentered = 0;
                for (int s = 0; s < batch; s++)
                {
                    int at = (s * channels + c) * spatial;
                    var (planeDy, planeDyCentered) = GradientSums(outputGradient.Slice(at, spatial), input.Slice(at, spatial), mean[c]);
                    sumDy += planeDy;
                    sumDyCentered += planeDyCentered;
                }
                double inverse = double.CreateTruncating(inverseDeviation[c]);
                gammaGradient[c] = T.CreateTruncating(sumDyCentered * inverse);
                betaGradient[c] = T.CreateTruncating(sumDy);
                sums[2 * c] = local * sumDy;
                sums[2 * c + 1] = local * sumDyCentered;
            }
            sums[2 * channels] = local;
            group.SumAll(sums);
            double count = sums[2 * channels];
            for (int c = 0; c < channels; c++)
            {
                double inverse = double.CreateTruncating(inverseDeviation[c]);
                double totalDy = sums[2 * c] / count, totalDyXHat = sums[2 * c + 1] / count * inverse;
                double factor = double.CreateTruncating(gamma[c]) * inverse / local;
                T a = T.CreateTruncating(factor * local), b = T.CreateTruncating(-factor * totalDy), d = T.CreateTruncating(-factor * totalDyXHat * inverse);
                for (int s = 0; s < batch; s++)
                {
                    int at = (s * channels + c) * spatial;
                    InputGradient(outputGradient.Slice(at, spatial), inputGradient.Slice(at, spatial), input.Slice(at, spatial), mean[c], a, b, d);
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }
    }

    /// <summary>Σ dy and Σ dy·(z − μ) over one plane.</summary>
    static (double SumDy, double SumDyCentered) GradientSums<T>(ReadOnlySpan<T> gradient, ReadOnlySpan<T> input, T mean) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T g = ref MemoryMarshal.GetReference(gradient);
        ref T x = ref MemoryMarshal.GetReference(input);
        int i = 0;
        T sumDy = T.Zero, sumDyCentered = T.Zero;
        if (Vector.IsHardwareAccelerated && gradient.Length >= Vector<T>.Count)
        {
            Vector<T> vectorDy = Vector<T>.Zero, vectorDyCentered = Vector<T>.Zero, m = new(mean);
            for (; i <= gradient.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var dy = Vector.LoadUnsafe(ref g, (nuint)i);
                vectorDy += dy;
                vectorDyCentered += dy * (Vector.LoadUnsafe(ref x, (nuint)i) - m);
            }
            sumDy = Vector.Sum(vectorDy);
            sumDyCentered = Vector.Sum(vectorDyCentered);
        }
        for (; i < gradient.Length; i++)
        {
            sumDy += Unsafe.Add(ref g, i);
            sumDyCentered += Unsafe.Add(ref g, i) * (Unsafe.Add(ref x, i) - mean);
        }
        return (double.CreateTruncating(sumDy), double.CreateTruncating(sumDyCentered));
    }

    /// <summary>dz = a·dy + d·(z − μ) + b over one plane.</summary>
    static void InputGradient<T>(ReadOnlySpan<T> gradient, Span<T> destination, ReadOnlySpan<T> input, T mean, T a, T b, T d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T g = ref MemoryMarshal.GetReference(gradient);
        ref T z = ref MemoryMarshal.GetReference(destination);
        ref T x = ref MemoryMarshal.GetReference(input);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<T> va = new(a), vb = new(b), vd = new(d), m = new(mean);
            for (; i <= gradient.Length - Vector<T>.Count; i += Vector<T>.Count)
                (va * Vector.LoadUnsafe(ref g, (nuint)i) + vd * (Vector.LoadUnsafe(ref x, (nuint)i) - m) + vb).StoreUnsafe(ref z, (nuint)i);
        }
        for (; i < gradient.Length; i++) Unsafe.Add(ref z, i) = a * Unsafe.Add(ref g, i) + b + d * (Unsafe.Add(ref x, i) - mean);
    }

    /// <summary>Asks for the next sample's plane while this one is summed: a channel's planes lie a whole sample apart,
    /// and the hardware prefetchers do not follow a jump that long, so each short plane would otherwise start with a
    /// wait on memory. A prefetch never faults, so an address the collector has since moved costs nothing.</summary>
    static void Prefetch<T>(ReadOnlySpan<T> plane) where T : unmanaged
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(plane));
        int bytes = plane.Length * Unsafe.SizeOf<T>();
        for (int offset = 0; offset < bytes; offset += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + offset);
    }

    static void CheckChannels(int length, int channels, string name)
    {
        if (length < channels)
            throw new ArgumentException($"{name} holds {length} values but {channels} channels need {channels}.", name);
    }

    static void Check(int length, int batch, int channels, int spatial, string name)
    {
        if (length < batch * channels * spatial)
            throw new ArgumentException($"{name} holds {length} values but {batch} samples of {channels} channels × {spatial} positions need {batch * channels * spatial}.", name);
    }
}
