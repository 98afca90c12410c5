using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Shared;

namespace NetDsl.Generators.Lowering;

/// <summary>How a product's weight gradient is taken.</summary>
internal enum WeightGradientForm
{
    /// <summary>Not a product.</summary>
    None,
    /// <summary>dW = dZᵀ·X, with a ones column appended to X when the layer has a bias, which yields db in the same pass.</summary>
    Product,
    /// <summary>dWᵀ = columns·dZᵀ: a convolution whose filters fill the product's panels better than its patch rows
    /// would. Without a bias only, since this form has no ones column.</summary>
    Transposed,
}

/// <summary>What the passes do at one block: the decisions of fusion, layout and gradient flow the backends print.</summary>
/// <param name="Block">The block's index in the plan.</param>
/// <param name="ReceivesGradient">A gradient flows back into this block's output: it or a block before it has parameters.</param>
/// <param name="SkipsJoining">The Add and Concat blocks that read this block's output through a skip: in backward their
/// gradient (a Concat's: its part after its own input's) joins the one arriving here.</param>
/// <param name="RunsInside">A pooling block computed per sample inside this convolution's loop while the convolution's
/// output is in cache (-1: none). Set on the pooling's step as <paramref name="RunsInsideOf"/> too.</param>
/// <param name="RunsInsideOf">For a pooling block computed inside a convolution's loop, that convolution (-1: none).</param>
/// <param name="InferenceInside">For a convolution whose BatchNorm is folded into it: the blocks computed per sample
/// inside its loop at inference, while its output is in cache: that BatchNorm (a copy with its ReLU) and pooling right
/// after it. Empty otherwise.</param>
/// <param name="InferenceInsideOf">For such a BatchNorm or pooling block, that convolution (-1: none); in training they
/// run on the whole batch as usual.</param>
/// <param name="WeightGradient">How a product's dW is taken.</param>
/// <param name="ReluFoldedIntoRouting">Max pooling right after a ReLU (nothing between, no skip reading it): backward
/// routes a gradient only where the window's maximum is positive, which is the ReLU's derivative at the winner.</param>
/// <param name="PreviousCore">The core block before this one, whose dZ this block's backward forms (-1: none, or no
/// gradient needed there). The blocks in between are elementwise steps whose derivatives apply on the way.</param>
/// <param name="InputGradientInEpilogue">A Dense block's input gradient takes the derivatives of the steps between it
/// and <paramref name="PreviousCore"/> in the product's epilogue; false when a softmax among them needs whole rows.</param>
internal sealed record StepSchedule(
    int Block,
    bool ReceivesGradient,
    EquatableArray<int> SkipsJoining,
    int RunsInside,
    int RunsInsideOf,
    EquatableArray<int> InferenceInside,
    int InferenceInsideOf,
    WeightGradientForm WeightGradient,
    bool ReluFoldedIntoRouting,
    int PreviousCore,
    bool InputGradientInEpilogue);

/// <summary>How the loss gradient becomes the last core block's dZ.</summary>
/// <param name="Core">The last core block, whose gradient buffer the loss writes.</param>
/// <param name="SigmoidInLoss">Binary cross-entropy's gradient is taken with respect to the final sigmoid's input, so
/// that sigmoid's derivative is not applied again.</param>
/// <param name="Steps">The blocks from <paramref name="Core"/> to the output, last first, whose dropout and activation
/// derivatives the loss gradient passes through (the sigmoid taken by the loss left out).</param>
internal sealed record OutputSchedule(int Core, bool SigmoidInLoss, EquatableArray<BlockPlan> Steps);

/// <summary>The lowered network: the plan with one schedule entry per block and the output step. Every backend prints
/// it; none decides fusion or gradient flow on its own.</summary>
/// <param name="GpuFusedPasses">On the GPU, every layer is a Dense layer with a bias, no softmax and at most
/// <see cref="NetworkLowering.FusedGpuWidth"/> units, so a whole pass runs as one kernel with its tiles in shared memory.</param>
internal sealed record PassSchedule(NetworkPlan Plan, EquatableArray<StepSchedule> Steps, OutputSchedule Output, bool GpuFusedPasses)
{
    public StepSchedule this[BlockPlan block] => Steps[block.Index];

    /// <summary>The GPU's backward pass forms every layer's dZ but the last in one kernel: fused passes with something to fuse.</summary>
    public bool GpuFusedBackward => GpuFusedPasses && Plan.Blocks.Count > 1;

    /// <summary>The blocks from <paramref name="from"/> up to (not including) <paramref name="to"/>, last first: the order in
    /// which their derivatives apply to a gradient flowing back.</summary>
    public List<BlockPlan> StepsBetween(BlockPlan from, BlockPlan? to) =>
        Plan.Blocks.Where(b => b.Index >= from.Index && (to is null || b.Index < to.Index)).Reverse().ToList();

    /// <summary>Whether the block an Add or Concat reads besides its input takes a gradient (not the network input, and
    /// with parameters at or before it).</summary>
    public bool SourceTakesGradient(BlockPlan block) => block.SourceBlock >= 0 && Steps[block.SourceBlock].ReceivesGradient;

    /// <summary>The Add and Concat blocks whose skip path reads <paramref name="block"/>'s output.</summary>
    public IEnumerable<BlockPlan> SkipsAt(BlockPlan block) => this[block].SkipsJoining.Select(i => Plan.Blocks[i]);

    /// <summary>The core block before <paramref name="block"/> whose dZ its backward forms; null when there is none or no
    /// gradient is needed there.</summary>
    public BlockPlan? PreviousCore(BlockPlan block) => this[block].PreviousCore is >= 0 and var i ? Plan.Blocks[i] : null;

    /// <summary>The blocks computed per sample inside <paramref name="convolution"/>'s loop at inference.</summary>
    public IEnumerable<BlockPlan> InferenceInside(BlockPlan convolution) => this[convolution].InferenceInside.Select(i => Plan.Blocks[i]);

    /// <summary>Whether, at inference, <paramref name="convolution"/>'s epilogue writes the folded BatchNorm's output
    /// itself (its ReLU included) instead of its own: the BatchNorm runs inside the convolution's loop
    /// (<see cref="InferenceInside"/>) and no skip reads the convolution's output, so the BatchNorm's copy has nothing
    /// left to do.</summary>
    public bool InferenceWritesNormalized(BlockPlan convolution) => InferenceInside(convolution).Any() && !SkipsAt(convolution).Any();

    /// <summary>Whether, at inference, <paramref name="convolution"/>'s Winograd output tiles are the windows of the
    /// max pooling inside its loop, so that the pooled map comes straight out of the output transform: the convolution
    /// writes the BatchNorm's output (<see cref="InferenceWritesNormalized"/>), nothing but that pooling reads it (no
    /// skip), and the pooling is 2×2 at stride 2 without padding over an even-sided map. The convolution reads an
    /// earlier block's output (kept in the buffers), from which the BatchNorm's output is formed again when asked for.</summary>
    public bool InferencePoolsTiles(BlockPlan convolution)
    {
        if (!convolution.TakesWinograd || !InferenceWritesNormalized(convolution) || convolution.InputBlock < 0) return false;
        var inside = InferenceInside(convolution).ToList();
        if (inside.Count < 2 || SkipsAt(inside[0]).Any() || inside[1].Kind != BlockKind.MaxPool) return false;
        var g = inside[1].Geometry!;
        return g is { KernelHeight: 2, KernelWidth: 2, Stride: 2, PadTop: 0, PadLeft: 0 } && g.Height % 2 == 0 && g.Width % 2 == 0 && !g.Overhangs;
    }

    /// <summary>The convolutions, in order, whose input gradient takes Winograd's F(2×2, 3×3) where the machine runs
    /// it: those that pass a gradient back, with a geometry that suits it
    /// (<see cref="ConvGeometry.SuitsWinogradInputGradient"/>).</summary>
    public IEnumerable<BlockPlan> WinogradInputGradients => Plan.Blocks.Where(b =>
        b.Kind == BlockKind.Conv && PreviousCore(b) is not null && b.Geometry!.SuitsWinogradInputGradient(b.Channels));

    /// <summary>Floats of <paramref name="convolution"/>'s input-gradient filters transformed for Winograd.</summary>
    public static int WinogradInputGradientLength(BlockPlan convolution) =>
        convolution.Geometry!.InputGradientGeometry(convolution.Channels).WinogradWeightsLength(convolution.Geometry.Channels);

    /// <summary>Where <paramref name="convolution"/>'s transformed input-gradient filters start among all of them.</summary>
    public int WinogradInputGradientOffset(BlockPlan convolution) =>
        WinogradInputGradients.TakeWhile(b => b.Index != convolution.Index).Sum(WinogradInputGradientLength);

    /// <summary>The pooling block computed inside <paramref name="convolution"/>'s per-sample loop, if any.</summary>
    public BlockPlan? PoolInside(BlockPlan convolution) => this[convolution].RunsInside is >= 0 and var i ? Plan.Blocks[i] : null;
}
