namespace NetDsl.Training;

/// <summary>The processes (ranks) that train one network together, data-parallel: each takes a slice of every batch and
/// they combine what they computed. <c>NetDsl.Distributed</c> provides one over MPI; give it to
/// <see cref="TrainingOptions.DataParallel"/>. Every rank must make the same calls in the same order: each is a
/// collective operation that returns when all ranks have made it.</summary>
public interface IDataParallelGroup
{
    /// <summary>This process's index, 0 to <see cref="Size"/> − 1; rank 0 decides, prints and writes.</summary>
    int Rank { get; }

    /// <summary>How many ranks train together.</summary>
    int Size { get; }

    /// <summary>Replaces <paramref name="values"/> on every rank with their element-wise sum over the ranks.</summary>
    void SumAll(Span<float> values);

    /// <inheritdoc cref="SumAll(Span{float})"/>
    void SumAll(Span<double> values);

    /// <summary>Replaces <paramref name="values"/> on every rank with rank 0's.</summary>
    void Broadcast(Span<float> values);

    /// <inheritdoc cref="Broadcast(Span{float})"/>
    void Broadcast(Span<double> values);
}

/// <summary>How a batch is shared between the ranks of a <see cref="IDataParallelGroup"/>.</summary>
public static class DataParallel
{
    /// <summary>This rank's rows of a batch of <paramref name="count"/> samples, as [First, First + Count): contiguous
    /// slices in rank order, the first count mod size ranks taking one more, so rank 0 is never empty.</summary>
    public static (int First, int Count) SliceOf(this IDataParallelGroup group, int count)
    {
        int Start(int rank) => (int)(((long)rank * count + group.Size - 1) / group.Size);
        int first = Start(group.Rank);
        return (first, Start(group.Rank + 1) - first);
    }

    /// <summary>Prepares the network for this rank's slice of a batch of <paramref name="batch"/> samples until the scope
    /// is disposed: its dropout masks keyed from the slice's first sample, and the regularization penalty on rank 0 only
    /// (it belongs to the whole batch once: weighted by n₀/n, rank 0's penalty over its n₀ samples is the batch's).</summary>
    public static SliceScope EnterSlice(this IDataParallelGroup group, INeuralNetwork network, int batch)
    {
        var (first, count) = group.SliceOf(batch);
        var scope = new SliceScope(network, network.Regularization, first, count);
        network.DropoutSampleOffset = first;
        if (group.Rank != 0) network.Regularization = default;
        return scope;
    }

    /// <summary>A rank's slice of a batch, [First, First + Count); disposing it puts the network's settings back.</summary>
    public readonly struct SliceScope(INeuralNetwork network, Regularization regularization, int first, int count) : IDisposable
    {
        /// <summary>The slice's first sample in the batch.</summary>
        public int First => first;

        /// <summary>The slice's samples.</summary>
        public int Count => count;

        /// <summary>Puts back the network's regularization and a zero sample offset.</summary>
        public void Dispose()
        {
            network.Regularization = regularization;
            network.DropoutSampleOffset = 0;
        }
    }

    /// <summary>Replaces <paramref name="values"/> on every rank with their mean over the ranks (per-rank BatchNorm's
    /// running statistics, kept alike).</summary>
    public static void AverageAll(this IDataParallelGroup group, Span<float> values)
    {
        group.SumAll(values);
        Kernels.Arithmetic.Scale(values, 1f / group.Size);
    }

    /// <summary>Weights this rank's slice gradients and mean loss by the slice's share of the batch and sums both over
    /// the ranks, in place: every rank then holds the whole batch's gradients, and gets its mean loss back.</summary>
    public static float SumWeighted(this IDataParallelGroup group, Span<float> gradients, float loss, int batch)
    {
        int count = group.SliceOf(batch).Count;
        Kernels.Arithmetic.Scale(gradients, (float)count / batch);
        group.SumAll(gradients);
        Span<double> total = [(double)loss * count / batch];
        group.SumAll(total);
        return (float)total[0];
    }
}
