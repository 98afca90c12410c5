using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>Winograd's minimal filtering F(2×2, 3×3) (Lavin &amp; Gray, 2016) for a 3×3 convolution at stride 1: each
/// 2×2 block of outputs comes from a 4×4 input tile d through 16 multiplications per filter and channel instead of 36.
/// Per sample the tiles are transformed (V = Bᵀ d B); each of the 16 positions ξ of a transformed tile multiplies the
/// transformed filters U_ξ [F × C] by V_ξ [C × tiles] with the shared micro-kernel; and each filter's outputs come back
/// as Y = Aᵀ M A. The transforms only add, subtract and halve, so the result differs from the direct product by
/// rounding alone.</summary>
/// <remarks>Layouts: U is [ξ][F/8][C][8], the micro-kernel's packed tiles of A. V is [ξ][panel][C][32]: a panel holds
/// whole rows of tiles (⌊32 / tiles across⌋ of them), so a row of tiles is one masked store in each transform.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class Winograd
{
    const int Positions = ConvGeometry.WinogradPositions;

    const int Panel = GemmTuning.PanelFloats;
    const int Rows = GemmTuning.RowsPerTile;

    /// <summary>Whether this machine runs the kernel (AVX-512).</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>Whether <see cref="Forward{T, TEpilogue}"/> serves this convolution: float on a machine that
    /// <see cref="IsSupported"/>, and a geometry that <see cref="ConvGeometry.SuitsWinograd"/>.</summary>
    public static bool Applies<T>(in ConvGeometry g, int filters) where T : unmanaged =>
        typeof(T) == typeof(float) && IsSupported && g.SuitsWinograd(filters);

    /// <summary>Whether the input gradient of the convolution <paramref name="g"/> of <paramref name="filters"/> filters
    /// takes <see cref="Forward{T, TEpilogue}"/> (over <see cref="ConvGeometry.InputGradientGeometry"/>): float on a
    /// machine that <see cref="IsSupported"/>, and a geometry that <see cref="ConvGeometry.SuitsWinogradInputGradient"/>.</summary>
    public static bool AppliesToInputGradient<T>(in ConvGeometry g, int filters) where T : unmanaged =>
        typeof(T) == typeof(float) && IsSupported && g.SuitsWinogradInputGradient(filters);

    /// <summary>Floats from one position's V to the next: its panels and a cache line more. A row of tiles is stored to
    /// all 16 positions at once, and at a whole number of 4 KB apart the 16 lines would share one set of L1's (12 ways),
    /// evicting each other at every store.</summary>
    static int PositionStride(int panels, int channels) => panels * channels * Panel + Vector512<float>.Count;

    static int TilesAcross(in ConvGeometry g) => (g.OutputWidth + 1) / 2;

    static int TilesDown(in ConvGeometry g) => (g.OutputHeight + 1) / 2;

    /// <summary>U = G g Gᵀ for every filter and channel of <paramref name="weights"/> ([F, C, 3, 3], PyTorch's layout),
    /// into <paramref name="transformed"/> in the layout <see cref="Forward{T, TEpilogue}"/> reads.</summary>
    public static void TransformWeights(ReadOnlySpan<float> weights, Span<float> transformed, in ConvGeometry g, int filters)
    {
        if (!Applies<float>(g, filters)) throw NotApplicable(g, filters);
        Transform(weights, transformed, filters, g.Channels, turned: false);
    }

    /// <summary>The filters of the input gradient's convolution (<see cref="ConvGeometry.InputGradientGeometry"/>) of
    /// the convolution <paramref name="g"/> with <paramref name="weights"/> ([F, C, 3, 3]): filter c over channel f is
    /// W[f, c] turned half a circle, transformed as <see cref="TransformWeights"/> does.</summary>
    public static void TransformInputGradientWeights(ReadOnlySpan<float> weights, Span<float> transformed, in ConvGeometry g, int filters)
    {
        if (!AppliesToInputGradient<float>(g, filters)) throw NotApplicable(g.InputGradientGeometry(filters), g.Channels);
        Transform(weights, transformed, g.Channels, filters, turned: true);
    }

    /// <summary>U for <paramref name="outputs"/> filters over <paramref name="inputs"/> channels, eight filters at a time
    /// (the eight lanes of a packed tile, gathered from their kernels), formed in double and rounded once. The kernel of
    /// filter o over channel i is weights[o, i] or, <paramref name="turned"/>, weights[i, o] read backwards.</summary>
    static void Transform(ReadOnlySpan<float> weights, Span<float> transformed, int outputs, int inputs, bool turned)
    {
        if (weights.Length < outputs * inputs * 9)
            throw new ArgumentException($"The weights hold {weights.Length} values but {outputs * inputs} kernels of 3×3 need {outputs * inputs * 9}.", nameof(weights));
        int position = outputs * inputs;
        if (transformed.Length < Positions * position)
            throw new ArgumentException($"The transformed weights hold {transformed.Length} values but need {Positions * position}.", nameof(transformed));
        // Lane r reads filter 8t + r's kernel: the next filter's kernel is a whole row of kernels further on, or (turned)
        // the next kernel.
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * Vector256.Create(turned ? 9 : inputs * 9);
        fixed (float* w = weights, u = transformed)
            for (int tile = 0; tile < outputs / Rows; tile++)
                for (int i = 0; i < inputs; i++)
                {
                    float* kernel = w + (turned ? i * outputs + tile * Rows : tile * Rows * inputs + i) * 9;
                    // A turned kernel's tap (row, column) is the stored one at (2 − row, 2 − column).
                    Vector512<double> Tap(int row, int column) => Avx512F.ConvertToVector512Double(
                        Avx2.GatherVector256(kernel + (turned ? 8 - 3 * row - column : 3 * row + column), lanes, 4));
                    float* at = u + (tile * inputs + i) * Rows;
                    // G g: rows g₀, (g₀ + g₁ + g₂)/2, (g₀ − g₁ + g₂)/2, g₂ of the kernel's rows, column by column;
                    // then (G g) Gᵀ: the same combination along each of those rows.
                    var (a0, a1, a2, a3) = Column(Tap(0, 0), Tap(1, 0), Tap(2, 0));
                    var (b0, b1, b2, b3) = Column(Tap(0, 1), Tap(1, 1), Tap(2, 1));
                    var (c0, c1, c2, c3) = Column(Tap(0, 2), Tap(1, 2), Tap(2, 2));
                    Row(at, 0, position, a0, b0, c0);
                    Row(at, 4, position, a1, b1, c1);
                    Row(at, 8, position, a2, b2, c2);
                    Row(at, 12, position, a3, b3, c3);
                }

        static (Vector512<double>, Vector512<double>, Vector512<double>, Vector512<double>) Column(
            Vector512<double> g0, Vector512<double> g1, Vector512<double> g2)
        {
            var half = Vector512.Create(0.5);
            return (g0, (g0 + g1 + g2) * half, (g0 - g1 + g2) * half, g2);
        }

        static void Row(float* at, int first, int position, Vector512<double> t0, Vector512<double> t1, Vector512<double> t2)
        {
            var (u0, u1, u2, u3) = Column(t0, t1, t2);
            Avx512F.ConvertToVector256Single(u0).Store(at + first * position);
            Avx512F.ConvertToVector256Single(u1).Store(at + (first + 1) * position);
            Avx512F.ConvertToVector256Single(u2).Store(at + (first + 2) * position);
            Avx512F.ConvertToVector256Single(u3).Store(at + (first + 3) * position);
        }
    }

    /// <summary>One sample's convolution by the filters <paramref name="transformed"/> by
    /// <see cref="TransformWeights"/>, handed to <paramref name="epilogue"/> as the direct product would be: row f,
    /// pixels in segments of a panel. Only where <see cref="Applies{T}"/> holds (T is float). With
    /// <paramref name="pooled"/> each output tile is a 2×2 max-pooling window (the output's sides are even): the
    /// epilogue gets each filter's pooled map instead, the largest of each tile's four outputs (the first of equals, in
    /// the order max pooling takes them), so a per-filter shift and a ReLU after it give what they would before it.</summary>
    public static void Forward<T, TEpilogue>(ReadOnlySpan<float> transformed, ReadOnlySpan<T> image, in ConvGeometry g, int filters,
        ref TEpilogue epilogue, bool pooled = false)
        where T : unmanaged
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (!Applies<T>(g, filters)) throw NotApplicable(g, filters);
        if (pooled && (g.OutputHeight % 2 != 0 || g.OutputWidth % 2 != 0))
            throw new ArgumentException($"Pooling the output tiles needs an output of even sides; got {g.OutputHeight}×{g.OutputWidth}.", nameof(pooled));
        if (transformed.Length < g.WinogradWeightsLength(filters))
            throw new ArgumentException($"The transformed weights hold {transformed.Length} values but need {g.WinogradWeightsLength(filters)}.", nameof(transformed));
        if (image.Length < g.InputSize)
            throw new ArgumentException($"The image holds {image.Length} values but a {g.Channels}×{g.Height}×{g.Width} sample needs {g.InputSize}.", nameof(image));
        int across = TilesAcross(g), rowsPerPanel = Panel / across, panels = (TilesDown(g) + rowsPerPanel - 1) / rowsPerPanel;
        int channels = g.Channels, filterTiles = filters / Rows, pixels = pooled ? g.OutputPixels / 4 : g.OutputPixels;
        // Scratch: V, the 16 products of one 8-filter tile and panel (reads of a row of tiles reach 16 lanes past a
        // row's start, so the last row has a vector of slack), and the outputs.
        int positionStride = PositionStride(panels, channels);
        int vLength = Positions * positionStride, mLength = Positions * Rows * Panel + Vector512<float>.Count;
        float* v = Scratch.Get(vLength + mLength + filters * pixels);
        float* m = v + vLength, y = m + mLength;
        fixed (T* source = image)
            TransformInput((float*)source, g, v, positionStride, channels, rowsPerPanel);
        fixed (float* u = transformed)
            for (int panel = 0; panel < panels; panel++)
                for (int tile = 0; tile < filterTiles; tile++)
                {
                    for (int position = 0; position < Positions; position++)
                        Gemm.EightRows<float, Vector512<float>, Simd512<float>>(
                            ref u[(position * filterTiles + tile) * channels * Rows], 1, Rows,
                            ref v[position * positionStride + panel * channels * Panel], Panel, channels,
                            ref m[position * Rows * Panel], carried: false);
                    TransformOutput(m, y + tile * Rows * pixels, pixels, g, panel * rowsPerPanel, rowsPerPanel, pooled);
                }
        for (int f = 0; f < filters; f++)
            for (int column = 0; column < pixels; column += Panel)
                epilogue.Apply(f, column, new Span<T>(y + f * pixels + column, Math.Min(Panel, pixels - column)));
    }

    /// <summary>V = Bᵀ d B for every channel and tile, each row of tiles stored as one masked vector per position. With
    /// Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1] applied along a row of the tile first (from the row's even and odd
    /// columns, so a whole row of tiles is a few vector operations) and then down the tile's four rows; a tile row's
    /// last two image rows are the next one's first two, so each image row is transformed once.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void TransformInput(float* image, in ConvGeometry g, float* v, nint positionStride, int channels, int rowsPerPanel)
    {
        int across = TilesAcross(g), down = TilesDown(g);
        var lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var tiles = Vector512.LessThan(lanes, Vector512.Create(across)).AsSingle();
        // The padded row (from padLeft columns before the image) is read in four vectors, from its columns 0, 16, 2 and
        // 18. A lane is loaded where its column lies inside the image; the others are zero and never read.
        var row = new RowReader(g, lanes);
        for (int c = 0; c < channels; c++)
        {
            float* plane = image + c * g.Height * g.Width;
            var (a0, a1, a2, a3) = row.Transform(plane, -g.PadTop);
            var (b0, b1, b2, b3) = row.Transform(plane, 1 - g.PadTop);
            for (int ty = 0; ty < down; ty++)
            {
                var (c0, c1, c2, c3) = row.Transform(plane, 2 * ty - g.PadTop + 2);
                var (d0, d1, d2, d3) = row.Transform(plane, 2 * ty - g.PadTop + 3);
                float* at = v + ((ty / rowsPerPanel) * channels + c) * Panel + ty % rowsPerPanel * across;
                Store(at, 0, positionStride, tiles, a0 - c0, a1 - c1, a2 - c2, a3 - c3);
                Store(at, 4, positionStride, tiles, b0 + c0, b1 + c1, b2 + c2, b3 + c3);
                Store(at, 8, positionStride, tiles, c0 - b0, c1 - b1, c2 - b2, c3 - b3);
                Store(at, 12, positionStride, tiles, b0 - d0, b1 - d1, b2 - d2, b3 - d3);
                (a0, a1, a2, a3, b0, b1, b2, b3) = (c0, c1, c2, c3, d0, d1, d2, d3);
            }
        }
    }

    /// <summary>Reads an image row as the padded row's columns 0-15, 16-31, 2-17 and 18-33 (zeros off the image and
    /// off the plane's rows) and applies B along it.</summary>
    readonly struct RowReader
    {
        readonly int width, height, padLeft;
        readonly Vector512<float> first, second, firstNext, secondNext;

        public RowReader(in ConvGeometry g, Vector512<int> lanes)
        {
            (width, height, padLeft) = (g.Width, g.Height, g.PadLeft);
            first = Inside(lanes, 0);
            second = Inside(lanes, 16);
            firstNext = Inside(lanes, 2);
            secondNext = Inside(lanes, 18);
        }

        Vector512<float> Inside(Vector512<int> lanes, int from) =>
            Vector512.LessThan((lanes + Vector512.Create(from - padLeft)).AsUInt32(), Vector512.Create((uint)width)).AsSingle();

        /// <summary>Image row <paramref name="row"/> times B, for every tile across: lane tx holds (d₀ − d₂, d₁ + d₂,
        /// d₂ − d₁, d₁ − d₃) of the four columns from 2tx − padLeft.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Transform(float* plane, int row)
        {
            if ((uint)row >= (uint)height) return default;
            float* start = plane + row * width - padLeft;
            Vector512<float> low = Avx512F.MaskLoad(start, first, Vector512<float>.Zero);
            Vector512<float> high = Avx512F.MaskLoad(start + 16, second, Vector512<float>.Zero);
            Vector512<float> lowNext = Avx512F.MaskLoad(start + 2, firstNext, Vector512<float>.Zero);
            Vector512<float> highNext = Avx512F.MaskLoad(start + 18, secondNext, Vector512<float>.Zero);
            var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var odds = evens + Vector512<int>.One;
            Vector512<float> d0 = Avx512F.PermuteVar16x32x2(low, evens, high), d1 = Avx512F.PermuteVar16x32x2(low, odds, high);
            Vector512<float> d2 = Avx512F.PermuteVar16x32x2(lowNext, evens, highNext), d3 = Avx512F.PermuteVar16x32x2(lowNext, odds, highNext);
            return (d0 - d2, d1 + d2, d2 - d1, d1 - d3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* at, int position, nint positionStride, Vector512<float> mask,
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        Avx512F.MaskStore(at + position * positionStride, mask, v0);
        Avx512F.MaskStore(at + (position + 1) * positionStride, mask, v1);
        Avx512F.MaskStore(at + (position + 2) * positionStride, mask, v2);
        Avx512F.MaskStore(at + (position + 3) * positionStride, mask, v3);
    }

    /// <summary>Y = Aᵀ M A (Aᵀ = [1 1 1 0; 0 1 −1 −1]) for an 8-filter tile's rows of tiles in one panel, written as
    /// output rows 2ty and 2ty + 1 of each filter (the two columns of each tile interleaved), each filter's
    /// <paramref name="pixels"/> apart; or, <paramref name="pooled"/>, as row ty of each filter's pooled map.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void TransformOutput(float* m, float* y, int pixels, in ConvGeometry g, int firstRow, int rowsPerPanel, bool pooled)
    {
        int across = TilesAcross(g), lastRow = Math.Min(TilesDown(g), firstRow + rowsPerPanel);
        int width = g.OutputWidth, height = g.OutputHeight;
        var lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var tiles = Vector512.LessThan(lanes, Vector512.Create(across)).AsSingle();
        var first = Vector512.LessThan(lanes, Vector512.Create(width)).AsSingle();
        var second = Vector512.LessThan(lanes + Vector512.Create(16), Vector512.Create(width)).AsSingle();
        // Lane 2i of the first half takes tile i's left column and lane 2i + 1 its right one; the second half, tiles 8-15.
        var lowerHalf = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var upperHalf = lowerHalf + Vector512.Create(8);
        const int Position = Rows * Panel;
        for (int r = 0; r < Rows; r++)
        {
            float* output = y + r * pixels;
            for (int ty = firstRow; ty < lastRow; ty++)
            {
                float* at = m + r * Panel + (ty - firstRow) * across;
                // Aᵀ down the tile's rows: s = m₀ + m₁ + m₂, t = m₁ − m₂ − m₃ for each of the four columns.
                var (s0, t0) = Down(at, 0);
                var (s1, t1) = Down(at, 1);
                var (s2, t2) = Down(at, 2);
                var (s3, t3) = Down(at, 3);
                // A along them: the left output column s₀ + s₁ + s₂, the right s₁ − s₂ − s₃.
                if (pooled)
                {
                    // Top left, top right, bottom left, bottom right: a later one wins only when larger, as in pooling.
                    var best = s0 + s1 + s2;
                    best = Larger(best, s1 - s2 - s3);
                    best = Larger(best, t0 + t1 + t2);
                    best = Larger(best, t1 - t2 - t3);
                    Avx512F.MaskStore(output + ty * across, tiles, best);
                    continue;
                }
                float* top = output + 2 * ty * width;
                Interleave(top, s0 + s1 + s2, s1 - s2 - s3, lowerHalf, upperHalf, first, second, width);
                if (2 * ty + 1 < height)
                    Interleave(top + width, t0 + t1 + t2, t1 - t2 - t3, lowerHalf, upperHalf, first, second, width);
            }
        }

        static Vector512<float> Larger(Vector512<float> best, Vector512<float> candidate) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(candidate, best), candidate, best);

        static (Vector512<float>, Vector512<float>) Down(float* at, int column)
        {
            Vector512<float> m0 = Vector512.Load(at + column * Position), m1 = Vector512.Load(at + (4 + column) * Position);
            Vector512<float> m2 = Vector512.Load(at + (8 + column) * Position), m3 = Vector512.Load(at + (12 + column) * Position);
            return (m0 + m1 + m2, m1 - m2 - m3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Interleave(float* row, Vector512<float> left, Vector512<float> right, Vector512<int> lowerHalf, Vector512<int> upperHalf,
        Vector512<float> first, Vector512<float> second, int width)
    {
        Avx512F.MaskStore(row, first, Avx512F.PermuteVar16x32x2(left, lowerHalf, right));
        if (width > 16) Avx512F.MaskStore(row + 16, second, Avx512F.PermuteVar16x32x2(left, upperHalf, right));
    }

    static NotSupportedException NotApplicable(in ConvGeometry g, int filters) =>
        new($"Winograd's F(2×2, 3×3) serves float convolutions with AVX-512, 3×3 at stride 1, padding of at most 1 before the image, filters in eights, at least {WinogradTuning.MinimumChannels} channels and outputs at most 32 wide; got {filters} filters over {g}.");

    /// <summary>Per-thread scratch, grown to the largest sample seen on the thread and then reused. Zeroed when made: the
    /// lanes of a panel past its rows of tiles are never written, and the products run over them too.</summary>
    static class Scratch
    {
        [ThreadStatic] static float[]? buffer;

        public static float* Get(int length)
        {
            if (buffer is null || buffer.Length - AlignedArray.Start(buffer) < length)
                buffer = AlignedArray.Allocate<float>(length);
            return (float*)Unsafe.AsPointer(ref buffer[AlignedArray.Start(buffer)]);
        }
    }
}
