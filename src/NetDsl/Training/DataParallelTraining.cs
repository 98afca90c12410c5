using NetDsl.Kernels;
using NetDsl.Data;
using NetDsl.Optimizers;

namespace NetDsl.Training;

/// <summary>The trainer's steps when ranks of a <see cref="IDataParallelGroup"/> train one network together: the
/// start from rank 0's state, each rank's slice of a batch, the weighted sum of the gradients, and the epoch's figures
/// over the ranks' shares of the data.</summary>
internal sealed class DataParallelTraining
{
    readonly IDataParallelGroup group;
    readonly bool synchronizeBatchNorm;
    readonly Dictionary<Dataset, Dataset?> shares = new(ReferenceEqualityComparer.Instance);

    /// <summary>Starts every rank from rank 0's θ, running statistics and optimizer state.</summary>
    public DataParallelTraining(IDataParallelGroup group, bool synchronizeBatchNorm, INeuralNetwork network, IOptimizer optimizer)
    {
        this.group = group;
        this.synchronizeBatchNorm = synchronizeBatchNorm;
        group.Broadcast(network.Parameters);
        if (!network.RunningStatistics.IsEmpty) group.Broadcast(network.RunningStatistics);
        if (optimizer is OptimizerBase state) BroadcastState(state, network.ParameterCount);
    }

    public bool IsRoot => group.Rank == 0;

    public int Ranks => group.Size;

    void BroadcastState(OptimizerBase optimizer, int parameterCount)
    {
        // Rank 0 says its step count and how many state vectors it holds (none before its first step).
        var header = new double[] { optimizer.Steps, optimizer.FirstState.Length == parameterCount ? optimizer.StateCopies : 0 };
        group.Broadcast(header);
        var states = new List<float[]>();
        for (int copy = 0; copy < (int)header[1]; copy++)
        {
            var state = new float[parameterCount];
            if (IsRoot) (copy == 0 ? optimizer.FirstState : optimizer.SecondState).CopyTo(state);
            group.Broadcast(state);
            states.Add(state);
        }
        if (!IsRoot) optimizer.Restore(states, (long)header[0]);
    }

    /// <summary>One step: this rank's slice through the passes, the gradients weighted by slice size and summed over the
    /// ranks, then the optimizer's update, which every rank makes alike. Returns the whole batch's mean loss; a
    /// non-finite loss or gradient (on any rank) leaves θ and the optimizer untouched, as a one-process step does.</summary>
    public float TrainStep(INeuralNetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, IOptimizer optimizer)
    {
        int batch = inputs.Length / network.InputSize;
        float loss;
        using (var slice = group.EnterSlice(network, batch))
        using (synchronizeBatchNorm ? BatchNormalization.Synchronize(group) : (IDisposable?)null)
            loss = network.ComputeGradients(inputs.Slice(slice.First * network.InputSize, slice.Count * network.InputSize),
                targets.Slice(slice.First * network.OutputSize, slice.Count * network.OutputSize));
        var gradients = network.Gradients;
        loss = group.SumWeighted(gradients, loss, batch);
        if (!float.IsFinite(loss) || Shapes.HasNonFinite(gradients)) return loss;
        network.ApplyGradients(optimizer);
        if (!synchronizeBatchNorm && !network.RunningStatistics.IsEmpty) group.AverageAll(network.RunningStatistics);
        return loss;
    }

    /// <summary>Puts rank 0's θ and running statistics on every rank once an epoch, so that rounding in the sums can
    /// never let the ranks drift apart.</summary>
    public void EndEpoch(INeuralNetwork network)
    {
        group.Broadcast(network.Parameters);
        if (!network.RunningStatistics.IsEmpty) group.Broadcast(network.RunningStatistics);
    }

    /// <summary>Loss and accuracy over <paramref name="data"/>: each rank predicts its contiguous share, the sums are
    /// added over the ranks, and rank 0's figures are everyone's.</summary>
    public Evaluation Evaluate(INeuralNetwork network, Dataset data)
    {
        if (!shares.TryGetValue(data, out var share))
        {
            var (first, count) = group.SliceOf(data.Count);
            share = count == 0 ? null : data.Subset(Enumerable.Range(first, count).ToArray());
            shares[data] = share;
        }
        var sums = new double[3];
        if (share is not null)
        {
            var figures = Metrics.Evaluate(network, share);
            sums[0] = figures.Loss * share.Count;
            sums[1] = figures.Accuracy * share.Count;
            sums[2] = share.Count;
        }
        group.SumAll(sums);
        group.Broadcast(sums);
        return new Evaluation(sums[0] / sums[2], sums[1] / sums[2]);
    }
}
