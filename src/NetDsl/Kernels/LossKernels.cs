using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Loss values (means over the batch) and, when a gradient buffer is given, the gradient of that mean with
/// respect to the network's outputs. Sums run in double whatever the element type.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class LossKernels
{
    /// <summary>Softmax cross-entropy on logits: mean over samples of −Σⱼ yⱼ log softmax(z)ⱼ. The gradient with respect to
    /// the logits is the fused form (softmax(z) − y) / batch; pass an empty span to skip it. With label smoothing ε the
    /// targets become y(1 − ε) + ε / classes.</summary>
    public static double SoftmaxCrossEntropy<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> gradient, int batch, int classes,
        double labelSmoothing = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(logits.Length, targets.Length, batch, classes);
        CheckSmoothing(labelSmoothing);
        double total = 0, inverseBatch = 1.0 / batch;
        for (int i = 0; i < batch; i++)
        {
            var z = logits.Slice(i * classes, classes);
            var y = targets.Slice(i * classes, classes);
            double max = double.NegativeInfinity;
            foreach (var v in z) max = Math.Max(max, double.CreateTruncating(v));
            double sum = 0;
            foreach (var v in z) sum += Math.Exp(double.CreateTruncating(v) - max);
            double logSum = max + Math.Log(sum);
            for (int j = 0; j < classes; j++)
            {
                double target = double.CreateTruncating(y[j]) * (1 - labelSmoothing) + labelSmoothing / classes;
                double logProbability = double.CreateTruncating(z[j]) - logSum;
                if (target != 0) total -= target * logProbability;
                if (!gradient.IsEmpty)
                    gradient[i * classes + j] = T.CreateTruncating((Math.Exp(logProbability) - target) * inverseBatch);
            }
        }
        return total * inverseBatch;
    }

    /// <summary>Mean squared error over every element: (1 / (batch·width)) Σ (ŷ − y)². Gradient 2(ŷ − y) / (batch·width).</summary>
    public static double MeanSquaredError<T>(ReadOnlySpan<T> outputs, ReadOnlySpan<T> targets, Span<T> gradient, int batch, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(outputs.Length, targets.Length, batch, width);
        int count = batch * width;
        double total = 0, scale = 2.0 / count;
        int i = 0;
        if (typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated)
            i = SquaredErrors(MemoryMarshal.Cast<T, float>(outputs[..count]), MemoryMarshal.Cast<T, float>(targets),
                MemoryMarshal.Cast<T, float>(gradient.IsEmpty ? gradient : gradient[..count]), scale, ref total);
        for (; i < count; i++)
        {
            double difference = double.CreateTruncating(outputs[i]) - double.CreateTruncating(targets[i]);
            total += difference * difference;
            if (!gradient.IsEmpty) gradient[i] = T.CreateTruncating(scale * difference);
        }
        return total / count;
    }

    /// <summary>The float outputs' whole 16-value blocks of <see cref="MeanSquaredError{T}"/>, widened to double: the
    /// same differences and gradients as the scalar loop, with the sum carried in 16 lanes instead of one chain of
    /// dependent additions. Returns how many values it took.</summary>
    static int SquaredErrors(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, Span<float> gradient, double scale, ref double total)
    {
        ref float output = ref MemoryMarshal.GetReference(outputs), target = ref MemoryMarshal.GetReference(targets);
        ref float slope = ref MemoryMarshal.GetReference(gradient);
        var scales = Vector512.Create(scale);
        Vector512<double> low = Vector512<double>.Zero, high = Vector512<double>.Zero;
        int i = 0;
        for (; i <= outputs.Length - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            var (outputLow, outputHigh) = Vector512.Widen(Vector512.LoadUnsafe(ref output, (nuint)i));
            var (targetLow, targetHigh) = Vector512.Widen(Vector512.LoadUnsafe(ref target, (nuint)i));
            Vector512<double> differenceLow = outputLow - targetLow, differenceHigh = outputHigh - targetHigh;
            low += differenceLow * differenceLow;
            high += differenceHigh * differenceHigh;
            if (!gradient.IsEmpty) Vector512.Narrow(scales * differenceLow, scales * differenceHigh).StoreUnsafe(ref slope, (nuint)i);
        }
        total += Vector512.Sum(low + high);
        return i;
    }

    /// <summary>Binary cross-entropy on sigmoid outputs a: mean over every element of −[y log a + (1 − y) log(1 − a)],
    /// a clamped away from 0 and 1 so saturated outputs give a large finite loss. The gradient is taken with respect to
    /// the sigmoid's input, the fused form (a − y) / (batch·width). With label smoothing ε the targets become
    /// y(1 − ε) + ε / 2.</summary>
    public static double BinaryCrossEntropy<T>(ReadOnlySpan<T> outputs, ReadOnlySpan<T> targets, Span<T> gradient, int batch, int width,
        double labelSmoothing = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckLengths(outputs.Length, targets.Length, batch, width);
        CheckSmoothing(labelSmoothing);
        // Keras's clamp for float; double keeps its own precision.
        double clamp = typeof(T) == typeof(float) ? 1e-7 : 1e-15;
        int count = batch * width;
        double total = 0, scale = 1.0 / count;
        for (int i = 0; i < count; i++)
        {
            double a = double.CreateTruncating(outputs[i]);
            double y = double.CreateTruncating(targets[i]) * (1 - labelSmoothing) + labelSmoothing / 2;
            double clamped = Math.Clamp(a, clamp, 1 - clamp);
            total -= y * Math.Log(clamped) + (1 - y) * Math.Log(1 - clamped);
            if (!gradient.IsEmpty) gradient[i] = T.CreateTruncating(scale * (a - y));
        }
        return total * scale;
    }

    static void CheckSmoothing(double labelSmoothing)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must lie in [0, 1).");
    }

    static void CheckLengths(int outputs, int targets, int batch, int width)
    {
        if (outputs < batch * width)
            throw new ArgumentException($"The outputs hold {outputs} values but {batch} samples of {width} need {batch * width}.");
        if (targets != batch * width)
            throw new ArgumentException(
                $"targets hold {targets} values but {batch} samples of shape ({width}) need {batch * width}.", nameof(targets));
    }
}
