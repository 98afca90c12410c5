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

    /// <summary>The rows and columns of unpadded window (<paramref name="oy"/>, <paramref name="ox"/>) that lie inside the input.</summary>
    public (int Rows, int Columns) WindowInside(int oy, int ox) =>
        (Math.Min(KernelHeight, Height - oy * Stride), Math.Min(KernelWidth, Width - ox * Stride));
}
