// One table per kernel family: block sizes, panel widths and the work below which a kernel stays on one core, each with
// the reason for its value (BLIS keeps such numbers in its bli_cntx_init_* tables). The generator compiles this file
// too (NETDSL_GENERATOR), so the layouts it chooses use the runtime's numbers.
#if NETDSL_GENERATOR
namespace NetDsl.Generators.RuntimeSource;
#else
namespace NetDsl.Kernels;
#endif

/// <summary>The shared product (Gemm).</summary>
internal static class GemmTuning
{
    /// <summary>Rows of the largest micro-kernel: eight rows × two vectors are 16 accumulators, which two FMA units of
    /// four cycles' latency need to stay busy.</summary>
    public const int RowsPerTile = 8;

    /// <summary>A packed panel of B is this many vectors wide (32 floats with 512-bit vectors).</summary>
    public const int PanelVectors = 2;

    /// <summary>Floats in the widest vector the kernels use (AVX-512); generated layouts are chosen for it.</summary>
    public const int FloatsPerWidestVector = 16;

    /// <summary>Floats in a panel at the widest vectors.</summary>
    public const int PanelFloats = PanelVectors * FloatsPerWidestVector;

    /// <summary>Multiply-adds below which a product stays on one core: the hand-off costs about a microsecond. The
    /// input-major float product shares by the same measure.</summary>
    public const long SharedWorkThreshold = 96 * 1024;

    /// <summary>Depth below which a product stays on one core whatever its size: each output value then costs fewer
    /// multiply-adds than moving its cache line from the core that wrote it to the core that reads it next.</summary>
    public const int SharedMinimumDepth = 16;

    /// <summary>Patch rows (C·KH·KW) from which a convolution's panels are packed straight from the image: below it,
    /// the lane masks each panel computes cost more than writing the column matrix (one input channel's 9 taps:
    /// 6.5 µs against 5.3–6.1 µs for the Fashion CNN's first convolution).</summary>
    public const int PatchPackingDepth = 32;

    /// <summary>Bytes of A above which a product with several panels and depth blocks is blocked by rows: beyond this,
    /// A no longer stays in L2 (2 MB per core here) between one panel and the next.</summary>
    public const long PackedALimit = 1 << 20;

    /// <summary>Rows of A per block of the blocked order: one depth block of them packed (192 KB), their running sums
    /// over one core's 32 panels of a 2048-wide layer (1 MB) and the panel block in use fit L2 together.</summary>
    public const int RowBlock = 256;

    /// <summary>Rows of a packed panel read per pass over the row tiles: 192 × 32 floats is 24 KB, inside a 48 KB L1
    /// beside the lines of A in use.</summary>
    public const int DepthBlock = 192;

    /// <summary>Products with fewer rows than this (a single prediction, say) skip packing when B is stored n×k.</summary>
    public const int FewRows = 8;
}

/// <summary>Winograd's F(2×2, 3×3) convolution (Winograd).</summary>
internal static class WinogradTuning
{
    /// <summary>Input channels from which a 3×3 convolution takes Winograd's form: each transformed value then feeds
    /// this many multiply-adds per filter, against a few adds to transform it.</summary>
    public const int MinimumChannels = 16;
}

/// <summary>The int8 product of predictions (QuantizedGemm).</summary>
internal static class QuantizedGemmTuning
{
    /// <summary>Multiply-adds below which a product stays on one core.</summary>
    public const long SharedWorkThreshold = 128 * 1024;

    /// <summary>Multiply-adds below which a single row's product stays on one core.</summary>
    public const long SharedRowThreshold = 1024 * 1024;

    /// <summary>Units per pass over a row: eight 16-unit accumulators at a time.</summary>
    public const int TileUnits = 256;
}

/// <summary>The input-major float product of small batches (InputMajorDense).</summary>
internal static class InputMajorTuning
{
    /// <summary>Rows below which a prediction may read the input-major copies: below it a copy saves packing the
    /// weights at every call.</summary>
    public const int RowLimit = 32;

    /// <summary>Bytes above which a copy serves fewer rows: half of a 2 MB L2 per core.</summary>
    public const long LargeCopy = 1 << 20;
}

/// <summary>The layer kernels that share a batch between the cores.</summary>
internal static class SharingTuning
{
    /// <summary>Multiply-adds below which a loop over samples stays on one core.</summary>
    public const long SampleWork = 192 * 1024;

    /// <summary>Values below which one core normalizes the whole batch.</summary>
    public const int BatchNormValues = 16 * 1024;

    /// <summary>Values below which one core takes an inference BatchNorm (a multiply-add, or a copy where the product
    /// folded it in): a batch-1 convolution's 25 K values cost more to move between the cores' caches than to process
    /// (the Fashion CNN at batch 1: 69 µs on one core, 83 µs shared).</summary>
    public const int InferenceBatchNormValues = 64 * 1024;

    /// <summary>Inputs below which pooling stays on one core: a pass over fewer is shorter than the hand-off.</summary>
    public const long PoolingInputs = 64 * 1024;
}
