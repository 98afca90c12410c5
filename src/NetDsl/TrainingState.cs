using System.ComponentModel;
using NetDsl.Optimizers;

namespace NetDsl;

/// <summary>What a generated network's passes compute for a training step; the network supplies them to
/// <see cref="TrainingState.TrainStep{TPasses}"/>, which owns the step around them.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface ITrainingPasses
{
    /// <summary>The forward and backward passes over a batch: dθ into the gradients, the batch's running statistics
    /// moved; returns the mean loss.</summary>
    float ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets);

    /// <summary>The running statistics were put back: anything derived from them (folded weights) is stale.</summary>
    void StatisticsRestored();
}

/// <summary>The training choreography every generated network shares, kept in the runtime so it is written and tested
/// once: the dropout stream and step count, the claim of the instance by one thread at a time, and a training step
/// that either updates θ or leaves every piece of state as it was. The generated code supplies only its passes.</summary>
/// <param name="network">The network's name, for the error a second thread gets.</param>
/// <param name="statisticsCount">The running statistics' length (BatchNorm: two per channel), kept aside during a step.</param>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TrainingState(string network, int statisticsCount)
{
    readonly float[] statisticsBeforeStep = new float[statisticsCount];
    int owner;

    /// <summary>The seed the dropout masks start from; <c>Initialize</c> draws it with θ.</summary>
    public ulong DropoutSeed { get; set; }

    /// <summary>Training steps taken since <c>Initialize</c>: the step count keys each step's dropout masks.</summary>
    public ulong Steps { get; set; }

    /// <summary>The dropout seed of the next training step, counting it.</summary>
    public ulong NextStepSeed() => Kernels.Dropout.StepSeed(DropoutSeed, ++Steps);

    /// <summary>Claims the instance for the calling thread; false when this thread already holds it (the caller then must
    /// not <see cref="Exit"/>). An instance's passes share buffers and the dropout stream, so a second thread inside
    /// them would silently mix two computations: it gets an exception instead.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a pass of the same instance.</exception>
    public bool Enter()
    {
        int me = Environment.CurrentManagedThreadId;
        int holder = Interlocked.CompareExchange(ref owner, me, 0);
        if (holder == 0) return true;
        if (holder == me) return false;
        throw new InvalidOperationException(
            $"{network} is already running a pass on thread {holder}, so thread {me} cannot use it now: an instance's passes share " +
            "buffers. Give each thread its own instance (copy θ with Parameters), or lock around the calls.");
    }

    /// <summary>Releases the instance.</summary>
    public void Exit() => Volatile.Write(ref owner, 0);

    /// <summary>One training step: the passes' gradients, then the optimizer's update of <paramref name="parameters"/>.
    /// A non-finite loss or gradient leaves every piece of state as it was: θ and the optimizer are not touched (so the
    /// layer where the failure arose can still be found), and the running statistics and the step count go back.</summary>
    public float TrainStep<TPasses>(ref TPasses passes, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets,
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> statistics, IOptimizer optimizer, FrozenLayers? frozen = null)
        where TPasses : ITrainingPasses, allows ref struct
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        bool entered = Enter();
        try
        {
            ulong stepsBefore = Steps;
            statistics.CopyTo(statisticsBeforeStep);
            float loss = passes.ComputeGradients(inputs, targets);
            if (float.IsFinite(loss) && !Shapes.HasNonFinite(gradients))
            {
                if (frozen is null) optimizer.Step(parameters, gradients);
                else frozen.Step(optimizer, parameters, gradients);
                return loss;
            }
            if (!statistics.IsEmpty)
            {
                statisticsBeforeStep.CopyTo(statistics);
                passes.StatisticsRestored();
            }
            Steps = stepsBefore;
            return loss;
        }
        finally
        {
            if (entered) Exit();
        }
    }
}
