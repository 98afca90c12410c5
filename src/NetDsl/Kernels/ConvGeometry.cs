using System;
using System.ComponentModel;

// The generator compiles this file too (NETDSL_GENERATOR): the geometry it plans is the one the kernels take.
#if NETDSL_GENERATOR
namespace NetDsl.Generators.RuntimeSource;
#else
namespace NetDsl.Kernels;
#endif

/// <summary>The shape of one 2-D convolution or pooling window walk over a C×H×W sample (row-major, as PyTorch).</summary>
/// <param name="Channels">Input channels C.</param>
/// <param name="Height">Input height H.</param>
/// <param name="Width">Input width W.</param>
/// <param name="KernelHeight">Window height.</param>
/// <param name="KernelWidth">Window width.</param>
/// <param name="Stride">Step between windows, both directions.</param>
/// <param name="PadTop">Zero rows above the input (the rest of the vertical padding is below).</param>
/// <param name="PadLeft">Zero columns left of the input.</param>
/// <param name="OutputHeight">Windows per column.</param>
/// <param name="OutputWidth">Windows per row.</param>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct ConvGeometry(int Channels, int Height, int Width, int KernelHeight, int KernelWidth, int Stride,
    int PadTop, int PadLeft, int OutputHeight, int OutputWidth)
{
    /// <summary>Rows of the column matrix: C·KH·KW.</summary>
    public int PatchSize => Channels * KernelHeight * KernelWidth;

    /// <summary>Windows per sample: OH·OW.</summary>
    public int OutputPixels => OutputHeight * OutputWidth;

    /// <summary>Values per input sample.</summary>
    public int InputSize => Channels * Height * Width;

    /// <summary>Whether the last windows reach past the input's bottom or right edge (pooling with RoundingMode.Ceil).</summary>
    public bool Overhangs => (OutputHeight - 1) * Stride + KernelHeight > Height + 2 * PadTop || (OutputWidth - 1) * Stride + KernelWidth > Width + 2 * PadLeft;

    /// <summary>Positions of a tile transformed for Winograd's F(2×2, 3×3): 4 × 4.</summary>
    public const int WinogradPositions = 16;

    /// <summary>Floats of this convolution's <paramref name="filters"/> filters transformed for Winograd's F(2×2, 3×3):
    /// F × C at each position.</summary>
    public int WinogradWeightsLength(int filters) => WinogradPositions * filters * Channels;

    /// <summary>Whether Winograd's F(2×2, 3×3) takes this convolution of <paramref name="filters"/> filters: a 3×3 kernel
    /// at stride 1 with at most one padding row and column before the image, whole tiles of filters for the
    /// micro-kernel, a row of 2×2 output tiles within one vector (outputs at most 32 wide), and channels enough that the
    /// products, not the transforms, take the time.</summary>
    public bool SuitsWinograd(int filters) =>
        KernelHeight == 3 && KernelWidth == 3 && Stride == 1 && PadTop is >= 0 and <= 1 && PadLeft is >= 0 and <= 1 && filters % GemmTuning.RowsPerTile == 0
        && Channels >= WinogradTuning.MinimumChannels && (OutputWidth + 1) / 2 <= GemmTuning.FloatsPerWidestVector;

    /// <summary>At stride 1, the convolution that carries the output's gradient back to the input: the
    /// <paramref name="filters"/> output maps as channels, the kernel turned half a circle and each filter's weights
    /// gathered per input channel, padded by the kernel's reach less this padding, onto the input's size.</summary>
    public ConvGeometry InputGradientGeometry(int filters) =>
        new(filters, OutputHeight, OutputWidth, KernelHeight, KernelWidth, 1, KernelHeight - 1 - PadTop, KernelWidth - 1 - PadLeft, Height, Width);

    /// <summary>Whether the input gradient of this convolution of <paramref name="filters"/> filters takes Winograd's
    /// F(2×2, 3×3) (its <see cref="InputGradientGeometry"/>, with this convolution's channels as its filters, suits it).</summary>
    public bool SuitsWinogradInputGradient(int filters) => Stride == 1 && InputGradientGeometry(filters).SuitsWinograd(Channels);

    /// <summary>The rows and columns of unpadded window (<paramref name="oy"/>, <paramref name="ox"/>) that lie inside the input.</summary>
    public (int Rows, int Columns) WindowInside(int oy, int ox) =>
        (Math.Min(KernelHeight, Height - oy * Stride), Math.Min(KernelWidth, Width - ox * Stride));
}
