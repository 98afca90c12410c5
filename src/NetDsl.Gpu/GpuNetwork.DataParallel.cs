using ILGPU;
using ILGPU.Runtime;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Gpu;

public abstract partial class GpuNetwork
{
    float[]? hostGradients, hostStatistics;

    /// <summary>One data-parallel step on this device as one rank of <paramref name="group"/>: this rank's slice of the
    /// batch (dropout keyed by the global sample index, the penalty on rank 0) through the passes, dθ brought to the host
    /// and summed over the ranks weighted by slice size, then the optimizer's update on the device, alike on every rank.
    /// BatchNorm normalizes over each rank's slice (PyTorch DDP's default), and the running statistics are averaged over
    /// the ranks after the step. Returns the whole batch's mean loss; a non-finite loss or gradient on any rank leaves θ
    /// and the optimizer untouched.</summary>
    /// <remarks>The sum goes through host memory: the MPI binding hands host buffers to MPI_Allreduce, and a CUDA-aware
    /// Open MPI could take device pointers only through ILGPU's native buffers, which this path does not use.</remarks>
    public float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, IOptimizer optimizer, IDataParallelGroup group)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(group);
        int batch = Shapes.BatchSize(inputs.Length, Network.InputSize, InputShape, nameof(inputs));
        float loss;
        using (var slice = group.EnterSlice(Network, batch))
            loss = ComputeGradients(inputs.Slice(slice.First * Network.InputSize, slice.Count * Network.InputSize),
                targets.Slice(slice.First * Network.OutputSize, slice.Count * Network.OutputSize));
        hostGradients ??= new float[Network.ParameterCount];
        gradients.View.CopyToCPU(hostGradients);
        loss = group.SumWeighted(hostGradients, loss, batch);
        if (!float.IsFinite(loss) || Shapes.HasNonFinite(hostGradients)) return loss;
        gradients.View.CopyFromCPU(hostGradients);
        ApplyUpdate(optimizer);
        int statisticsLength = Network.RunningStatistics.Length;
        if (statisticsLength > 0)
        {
            hostStatistics ??= new float[statisticsLength];
            statistics.View.SubView(0, statisticsLength).CopyToCPU(hostStatistics);
            group.AverageAll(hostStatistics);
            statistics.View.SubView(0, statisticsLength).CopyFromCPU(hostStatistics);
        }
        return loss;
    }
}
