using ILGPU;
using ILGPU.Runtime;
using NetDsl.Optimizers;

namespace NetDsl.Gpu;

/// <summary>An optimizer's update run on the device: the host optimizer supplies the hyperparameters (its learning rate
/// is read every step, so schedules apply), the state vectors and the step count live here beside θ.</summary>
internal sealed class GpuOptimizerState : IDisposable
{
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, UpdateRule> SgdKernel = GpuKernels.Sgd;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, UpdateRule> MomentumKernel = GpuKernels.Momentum;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, UpdateRule> AdamKernel = GpuKernels.Adam;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, UpdateRule> SquareAverageKernel = GpuKernels.SquareAverage;
    static readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, UpdateRule> AdaDeltaKernel = GpuKernels.AdaDelta;

    readonly GpuDevice device;
    readonly MemoryBuffer1D<float, Stride1D.Dense>? first, second;
    long steps;

    public GpuOptimizerState(GpuDevice device, IOptimizer optimizer, int parameterCount)
    {
        if (optimizer is not (Sgd or Momentum or Nesterov or Adam or AdaGrad or RmsProp or AdaDelta))
            throw new ArgumentException(
                $"{optimizer.GetType().Name} has no GPU update; the GPU path runs NetDsl's own optimizers (Sgd, Momentum, Nesterov, AdaGrad, RmsProp, AdaDelta, Adam, AdamW).", nameof(optimizer));
        this.device = device;
        Optimizer = optimizer;
        int copies = optimizer switch { Adam or AdaDelta => 2, Sgd => 0, _ => 1 };
        if (copies > 0) first = Zeroed(parameterCount);
        if (copies > 1) second = Zeroed(parameterCount);
    }

    public IOptimizer Optimizer { get; }

    MemoryBuffer1D<float, Stride1D.Dense> Zeroed(int length)
    {
        var buffer = device.Allocate(length);
        buffer.MemSetToZero();
        return buffer;
    }

    public void Step(ArrayView<float> theta, ArrayView<float> gradient)
    {
        steps++;
        int count = (int)theta.Length;
        float alpha = (float)Optimizer.LearningRate;
        switch (Optimizer)
        {
            case Sgd:
                Kernel(SgdKernel)(count, theta, gradient, new UpdateRule(StepSize: alpha, Beta1: 0, Beta2: 0, GradientScale: 1, LookAhead: 0, Epsilon: 0, Shrink: 1));
                break;
            case Momentum momentum:
                Kernel(MomentumKernel)(count, theta, gradient, first!.View, new UpdateRule(StepSize: alpha, Beta1: (float)momentum.Beta, Beta2: 0,
                    GradientScale: momentum.Dampening ? (float)(1 - momentum.Beta) : 1f, LookAhead: 0, Epsilon: 0, Shrink: 1));
                break;
            case Nesterov nesterov:
                Kernel(MomentumKernel)(count, theta, gradient, first!.View, new UpdateRule(StepSize: alpha, Beta1: (float)nesterov.Beta, Beta2: 0,
                    GradientScale: 1, LookAhead: (float)nesterov.Beta, Epsilon: 0, Shrink: 1));
                break;
            case AdaGrad adaGrad:
                Kernel(SquareAverageKernel)(count, theta, gradient, first!.View, new UpdateRule(StepSize: alpha, Beta1: 1, Beta2: 0,
                    GradientScale: 1, LookAhead: 0, Epsilon: (float)adaGrad.Epsilon, Shrink: 1));
                break;
            case RmsProp rmsProp:
                Kernel(SquareAverageKernel)(count, theta, gradient, first!.View, new UpdateRule(StepSize: alpha, Beta1: (float)rmsProp.Beta, Beta2: 0,
                    GradientScale: (float)(1 - rmsProp.Beta), LookAhead: 0, Epsilon: (float)rmsProp.Epsilon, Shrink: 1));
                break;
            case AdaDelta adaDelta:
                Kernel(AdaDeltaKernel)(count, theta, gradient, first!.View, second!.View, new UpdateRule(StepSize: alpha, Beta1: (float)adaDelta.Rho,
                    Beta2: 0, GradientScale: (float)(1 - adaDelta.Rho), LookAhead: 0, Epsilon: (float)adaDelta.Epsilon, Shrink: 1));
                break;
            case Adam adam:
                // The CPU's Adam: both bias corrections folded into the step size and ε.
                double correction2 = Math.Sqrt(1 - Math.Pow(adam.Beta2, steps));
                var rule = new UpdateRule(
                    StepSize: (float)(Optimizer.LearningRate * correction2 / (1 - Math.Pow(adam.Beta1, steps))),
                    Beta1: (float)adam.Beta1, Beta2: (float)adam.Beta2, GradientScale: (float)(1 - adam.Beta1), LookAhead: 0,
                    Epsilon: (float)(adam.Epsilon * correction2),
                    Shrink: (float)(1 - Optimizer.LearningRate * adam.WeightDecay), SecondScale: (float)(1 - adam.Beta2));
                Kernel(AdamKernel)(count, theta, gradient, first!.View, second!.View, rule);
                break;
        }
    }

    Action<Index1D, T1, T2, T3> Kernel<T1, T2, T3>(Action<Index1D, T1, T2, T3> body) where T1 : struct where T2 : struct where T3 : struct =>
        device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3>)key));

    Action<Index1D, T1, T2, T3, T4> Kernel<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> body)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4>)key));

    Action<Index1D, T1, T2, T3, T4, T5> Kernel<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> body)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        device.Kernel(body, static (accelerator, key) => accelerator.LoadAutoGroupedStreamKernel((Action<Index1D, T1, T2, T3, T4, T5>)key));

    public void Dispose()
    {
        first?.Dispose();
        second?.Dispose();
    }
}
