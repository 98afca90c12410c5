using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

// The convolution's product without its column matrix: B's panels are packed straight from the image.
public static unsafe partial class Gemm
{
    /// <summary>Whether <see cref="MultiplyPatches"/> serves a convolution of this geometry: float with 512-bit vectors,
    /// stride 1 and the output as wide as the input, where each row of the column matrix is the channel's plane shifted
    /// (as <see cref="Convolution.Im2Col"/> uses too), so a panel row is two masked vector loads; and patches deep enough
    /// to repay each panel's lane masks.</summary>
    public static bool PacksPatches<T>(in ConvGeometry g) where T : unmanaged =>
        typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated && g.Stride == 1 && g.OutputWidth == g.Width
        && g.PatchSize >= GemmTuning.PatchPackingDepth;

    /// <summary>Computes <c>W · im2col(image)</c> (<paramref name="weights"/> F×C·KH·KW, row-major) without writing the
    /// column matrix: each core packs the panels it multiplies straight from <paramref name="image"/>, so neither the
    /// matrix's pass through memory nor its move between the cores' caches is paid. Only for geometries where
    /// <see cref="PacksPatches"/> holds.</summary>
    public static void MultiplyPatches<T, TEpilogue>(ReadOnlySpan<T> weights, ReadOnlySpan<T> image, in ConvGeometry geometry,
        int filters, ref TEpilogue epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (!PacksPatches<T>(geometry))
            throw new NotSupportedException($"Patches are packed from the image for float with 512-bit vectors, at stride 1, with the output as wide as the input and at least {GemmTuning.PatchPackingDepth} patch rows; got {typeof(T).Name}, {geometry}; use Convolution.Forward, which falls back to im2col.");
        int k = geometry.PatchSize;
        if (filters <= 0) throw new ArgumentOutOfRangeException(nameof(filters), $"A convolution needs at least one filter, got {filters}.");
        if (weights.Length < filters * k) throw new ArgumentException($"The weights hold {weights.Length} values but {filters} filters of {k} need {filters * k}.", nameof(weights));
        if (image.Length < geometry.InputSize) throw new ArgumentException($"The image holds {image.Length} values but a {geometry.Channels}×{geometry.Height}×{geometry.Width} sample needs {geometry.InputSize}.", nameof(image));
        // Masked loads form addresses around the image: pinned, it cannot move while either core reads it.
        var patches = geometry;
        fixed (T* pinned = image)
        {
            var job = new Job<T, TEpilogue>(new Operands<T>(weights, false, new ReadOnlySpan<T>(pinned, image.Length), false,
                filters, geometry.OutputPixels, k, false, &patches), epilogue);
            Dispatch(ref job);
        }
    }

    /// <summary>Packs panels [<paramref name="firstPanel"/>, <paramref name="lastPanel"/>) of im2col(image), each
    /// C·KH·KW rows of <paramref name="panelWidth"/> output pixels; columns past the last pixel and taps that fall on
    /// the padding are zero.</summary>
    static void PackPatches<T>(ReadOnlySpan<T> image, in ConvGeometry g, int panelWidth, int firstPanel, int lastPanel, Span<T> packed)
        where T : unmanaged
    {
        int taps = g.KernelHeight * g.KernelWidth, planeSize = g.Height * g.Width, k = g.PatchSize;
        // One lane mask per tap and half panel: set where that tap of that output pixel reads inside the image.
        var masks = stackalloc Vector512<float>[2 * taps];
        var rowsOf = stackalloc int[panelWidth];
        var columnsOf = stackalloc int[panelWidth];
        float* source = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(image));
        float* target = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(packed));
        for (int panel = firstPanel; panel < lastPanel; panel++)
        {
            int column = panel * panelWidth;
            // Each lane's output row and column; lanes past the last pixel get a row below the image.
            for (int i = 0, oy = column / g.Width, ox = column % g.Width; i < panelWidth; i++)
            {
                rowsOf[i] = column + i < g.OutputPixels ? oy : g.Height + g.KernelHeight;
                columnsOf[i] = ox;
                if (++ox == g.Width) (ox, oy) = (0, oy + 1);
            }
            for (int half = 0; half < 2; half++)
            {
                var oy = Vector512.Load(rowsOf + 16 * half);
                var ox = Vector512.Load(columnsOf + 16 * half);
                for (int ky = 0; ky < g.KernelHeight; ky++)
                {
                    var rowInside = Vector512.LessThan((oy + Vector512.Create(ky - g.PadTop)).AsUInt32(), Vector512.Create((uint)g.Height));
                    for (int kx = 0; kx < g.KernelWidth; kx++)
                    {
                        var columnInside = Vector512.LessThan((ox + Vector512.Create(kx - g.PadLeft)).AsUInt32(), Vector512.Create((uint)g.Width));
                        masks[2 * (ky * g.KernelWidth + kx) + half] = (rowInside & columnInside).AsSingle();
                    }
                }
            }
            float* rows = target + (panel - firstPanel) * panelWidth * k;
            for (int c = 0; c < g.Channels; c++)
            {
                float* plane = source + c * planeSize + column;
                for (int ky = 0; ky < g.KernelHeight; ky++)
                    for (int kx = 0; kx < g.KernelWidth; kx++)
                    {
                        int tap = ky * g.KernelWidth + kx;
                        // Lanes off the image are masked, so their addresses are never read.
                        float* tapStart = plane + (ky - g.PadTop) * g.Width + kx - g.PadLeft;
                        float* row = rows + (c * taps + tap) * panelWidth;
                        Avx512F.MaskLoad(tapStart, masks[2 * tap], Vector512<float>.Zero).Store(row);
                        Avx512F.MaskLoad(tapStart + 16, masks[2 * tap + 1], Vector512<float>.Zero).Store(row + 16);
                    }
            }
        }
    }
}
