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
