using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;

namespace NetDsl.Generators.Lowering;

/// <summary>Lower: the plan's blocks become the passes' schedule. Every fusion, layout and gradient-flow decision is
/// taken here, once, and tested on the schedule itself; the CPU and GPU emitters print it.</summary>
internal static class NetworkLowering
{
    /// <summary>The widest layer of the GPU's fused passes: a tile of rows × this many units per layer fits shared memory.</summary>
    public const int FusedGpuWidth = 128;

    public static PassSchedule Lower(NetworkPlan plan)
    {
        var blocks = plan.Blocks;
        var cores = blocks.Where(b => b.IsCore).ToList();
        var steps = blocks.Select(block =>
        {
            int core = cores.IndexOf(block);
            var previousCore = core > 0 ? cores[core - 1] : null;
            if (previousCore is not null && !ReceivesGradient(plan, previousCore)) previousCore = null;
            var pool = blocks.FirstOrDefault(b => b.InputBlock == block.Index && PoolsInsideProduct(plan, b));
            var inside = InferenceInside(plan, block);
            return new StepSchedule(
                block.Index,
                ReceivesGradient(plan, block),
                blocks.Where(b => b.ReadsSource && b.SourceBlock == block.Index).Select(b => b.Index).ToEquatableArray(),
                RunsInside: pool?.Index ?? -1,
                RunsInsideOf: PoolsInsideProduct(plan, block) ? block.InputBlock : -1,
                inside.Select(b => b.Index).ToEquatableArray(),
                InferenceInsideOf: blocks.Where(b => b.Kind == BlockKind.Conv).FirstOrDefault(c => InferenceInside(plan, c).Contains(block))?.Index ?? -1,
                block.Kind == BlockKind.Dense ? WeightGradientForm.Product
                    : block.Kind == BlockKind.Conv ? (TransposedWeightGradient(block) ? WeightGradientForm.Transposed : WeightGradientForm.Product)
                    : WeightGradientForm.None,
                ReluFoldedIntoRouting(plan, block),
                PreviousCore: previousCore?.Index ?? -1,
                InputGradientInEpilogue: block.Kind == BlockKind.Dense && previousCore is not null
                    && blocks.Where(b => b.Index >= previousCore.Index && b.Index < block.Index)
                        .All(b => b.Activation != ActivationKind.Softmax && !JoinedBy(blocks, b)));
        }).ToEquatableArray();
        return new PassSchedule(plan, steps, Output(plan, cores.LastOrDefault()), GpuFusable(plan));
    }

    static OutputSchedule Output(NetworkPlan plan, BlockPlan? lastCore)
    {
        if (lastCore is null) return new OutputSchedule(-1, false, EquatableArray<BlockPlan>.Empty);
        // Binary cross-entropy's gradient is already taken with respect to the final sigmoid's input.
        bool sigmoidInLoss = plan.Spec.Loss == Loss.BinaryCrossEntropy;
        var steps = plan.Blocks.Where(b => b.Index >= lastCore.Index).Reverse().ToList();
        if (sigmoidInLoss) steps[0] = steps[0] with { Activation = ActivationKind.None };
        return new OutputSchedule(lastCore.Index, sigmoidInLoss, steps.ToEquatableArray());
    }

    /// <summary>A gradient flows back into a block's output only if it or a block before it has parameters.</summary>
    static bool ReceivesGradient(NetworkPlan plan, BlockPlan block) => plan.Blocks.Take(block.Index + 1).Any(b => b.HasParameters);

    /// <summary>Whether a Concat joins <paramref name="step"/>'s output: its gradient then comes back as a strided part
    /// of the Concat's, added after the product rather than element by element in its epilogue.</summary>
    static bool JoinedBy(EquatableArray<BlockPlan> blocks, BlockPlan step) =>
        blocks.Any(b => b.Kind == BlockKind.Concat && b.SourceBlock == step.Index);

    /// <summary>Pooling right after a convolution, with nothing of its own to apply, runs per sample inside the
    /// convolution's loop while its output is in cache.</summary>
    static bool PoolsInsideProduct(NetworkPlan plan, BlockPlan pool) =>
        pool.Kind is BlockKind.MaxPool or BlockKind.AvgPool && pool.InputBlock >= 0 && plan.Blocks[pool.InputBlock].Kind == BlockKind.Conv
        && pool.Activation == ActivationKind.None && !pool.HasDropout;

    /// <summary>At inference a convolution with its BatchNorm folded in has already normalized: the BatchNorm is a copy
    /// (with its ReLU), and it and pooling right after it run per sample in the convolution's loop while the sample's
    /// maps are in cache, instead of as passes over the whole batch's maps in memory.</summary>
    static List<BlockPlan> InferenceInside(NetworkPlan plan, BlockPlan convolution)
    {
        var inside = new List<BlockPlan>();
        if (convolution.Kind != BlockKind.Conv || !convolution.IsFolded || convolution.Index + 1 >= plan.Blocks.Count) return inside;
        var norm = plan.Blocks[convolution.Index + 1];
        if (norm.Kind != BlockKind.BatchNorm || norm.HasDropout || norm.Activation is not (ActivationKind.None or ActivationKind.ReLU)) return inside;
        inside.Add(norm);
        if (norm.Index + 1 < plan.Blocks.Count && plan.Blocks[norm.Index + 1] is { Kind: BlockKind.MaxPool or BlockKind.AvgPool, Activation: ActivationKind.None, HasDropout: false } pool
            && pool.InputBlock == norm.Index)
            inside.Add(pool);
        return inside;
    }

    /// <summary>Whether a convolution's weight gradient is taken as dWᵀ = columns · dzᵀ: when its patch is narrow beside
    /// its filter count, so that the filters, as the product's columns, fill the product's panels better than the patch
    /// rows would (9 patch rows and 32 filters: 2.7× as fast). Without a bias only.</summary>
    static bool TransposedWeightGradient(BlockPlan block)
    {
        const int panel = GemmTuning.PanelFloats;
        static int Padded(int columns) => (columns + panel - 1) / panel * panel;
        int patch = block.Geometry.PatchSize, filters = block.Channels;
        return !block.HasBias && (long)Padded(filters) * patch < (long)Padded(patch) * filters;
    }

    /// <summary>Max pooling right after a ReLU (nothing else between, no dropout, no skip reading that output) routes each
    /// gradient only where its window's maximum is positive: that is ReLU′ at the winner, and every other input gets zero
    /// anyway, so the ReLU's backward pass over the larger tensor folds into the routing.</summary>
    static bool ReluFoldedIntoRouting(NetworkPlan plan, BlockPlan block)
    {
        if (block.Kind != BlockKind.MaxPool || block.Activation != ActivationKind.None || block.HasDropout || block.Index == 0) return false;
        var previous = plan.Blocks[block.Index - 1];
        return previous.IsCore && previous.Activation == ActivationKind.ReLU && !previous.HasDropout
            && !plan.Blocks.Any(b => b.ReadsSource && b.SourceBlock == previous.Index);
    }

    /// <summary>tiny-cuda-nn's fused passes apply when every layer is a Dense layer with a bias, no softmax, and at most
    /// <see cref="FusedGpuWidth"/> units.</summary>
    static bool GpuFusable(NetworkPlan plan) =>
        plan.Blocks.All(b => b.Kind == BlockKind.Dense && b.HasBias && b.Activation != ActivationKind.Softmax && b.Outputs <= FusedGpuWidth);
}
