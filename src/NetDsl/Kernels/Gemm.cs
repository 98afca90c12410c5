using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Receives each finished piece of a product, <c>C[row, column .. column + values.Length)</c>, while it is
/// still in L1. Generated code implements it to add the bias, apply the activation and dropout (forward) or to form
/// <c>dZ = dA ⊙ act′</c> (backward); the JIT specializes <see cref="Gemm.Multiply"/> per epilogue and inlines it.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IGemmEpilogue<T> where T : unmanaged
{
    /// <summary>Consumes one row segment of the product. <paramref name="values"/> may be modified.</summary>
    void Apply(int row, int column, scoped Span<T> values);
}

/// <summary>Stores a product row-major into a buffer of <paramref name="width"/> columns (by <see cref="Arithmetic.Store{T}"/>,
/// which streams a buffer too large for the caches).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public ref struct StoreEpilogue<T>(Span<T> destination, int width) : IGemmEpilogue<T> where T : unmanaged
{
    readonly Span<T> destination = destination;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, scoped Span<T> values) => Arithmetic.Store<T>(values, destination, row * width + column);
}

/// <summary>Splits the product <c>dZᵀ · [X | 1]</c> into the weight gradient <c>dW = dZᵀ·X</c> ([units, inputs]) and,
/// from the ones column, the bias gradient <c>db = Σ rows dZ</c>: both from one pass over dZ and X.</summary>
/// <remarks>With <paramref name="accumulate"/> the gradients are added to (a convolution sums them over samples).
/// An empty <paramref name="biasGradient"/> means the layer has no bias (a BatchNorm follows it). When not accumulating,
/// the regularization gradient l1·sign(w) + l2·w of <paramref name="weights"/> joins dW in the same pass.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public ref struct WeightGradientEpilogue<T>(Span<T> weightGradient, Span<T> biasGradient, int inputs, bool accumulate = false,
    ReadOnlySpan<T> weights = default, T l1 = default, T l2 = default) : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Span<T> weightGradient = weightGradient;
    readonly Span<T> biasGradient = biasGradient;
    readonly ReadOnlySpan<T> weights = weights;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, scoped Span<T> values)
    {
        int count = Math.Min(values.Length, inputs - column);
        if (count > 0)
        {
            int at = row * inputs + column;
            if (accumulate) Arithmetic.Add(weightGradient.Slice(at, count), values[..count]);
            else
            {
                if (l1 != T.Zero || l2 != T.Zero)
                {
                    var w = this.weights.Slice(at, count);
                    for (int i = 0; i < count; i++) values[i] += PenaltyGradient(w[i], l1, l2);
                }
                Arithmetic.Store<T>(values[..count], weightGradient, at);
            }
        }
        if (count < values.Length && !biasGradient.IsEmpty)
            biasGradient[row] = accumulate ? biasGradient[row] + values[Math.Max(count, 0)] : values[Math.Max(count, 0)];
    }

    /// <summary>The regularization gradient at <paramref name="w"/>: l1·sign(w) + l2·w.</summary>
    internal static T PenaltyGradient(T w, T l1, T l2) => l2 * w + l1 * T.CreateTruncating(T.Sign(w));
}

/// <summary>The weight gradient from the transposed product <c>dWᵀ = Xᵀ · dZ</c> ([inputs, units]): row i of the
/// product holds input i's gradient for a run of units, stored at <c>dW[unit, i]</c>. A convolution whose patch is
/// narrower than its filter count takes this form (the patch matrix as A, the output gradient as B stored n×k), so the
/// product's columns are the filters instead of the few patch rows padded to a whole panel.</summary>
/// <remarks>As <see cref="WeightGradientEpilogue{T}"/>, without a bias: with <paramref name="accumulate"/> the gradient
/// is added to; otherwise the regularization gradient l1·sign(w) + l2·w of <paramref name="weights"/> joins it.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public ref struct TransposedWeightGradientEpilogue<T>(Span<T> weightGradient, int inputs, bool accumulate = false,
    ReadOnlySpan<T> weights = default, T l1 = default, T l2 = default) : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Span<T> weightGradient = weightGradient;
    readonly ReadOnlySpan<T> weights = weights;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, scoped Span<T> values)
    {
        bool regularize = l1 != T.Zero || l2 != T.Zero;
        for (int j = 0; j < values.Length; j++)
        {
            int at = (column + j) * inputs + row;
            if (accumulate) weightGradient[at] += values[j];
            else weightGradient[at] = regularize ? values[j] + WeightGradientEpilogue<T>.PenaltyGradient(weights[at], l1, l2) : values[j];
        }
    }
}

/// <summary>The shared matrix product: <c>C = op(A) · op(B)</c>, with op(A) m×k and op(B) k×n, every piece of C
/// handed to an epilogue. B is packed into panels two vectors wide; an 8-row micro-kernel keeps 16 accumulators in
/// registers and broadcasts A. A product large enough to repay the hand-off is split between the two cores
/// (<see cref="WorkSharing"/>): by column panels when there are several, else by rows; each core packs the panels it uses.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class Gemm
{
    const int RowsPerTile = GemmTuning.RowsPerTile;
    const long SharedWorkThreshold = GemmTuning.SharedWorkThreshold;

    /// <summary>Computes <c>op(A)·op(B)</c>. With <paramref name="transposeA"/> A is stored k×m, else m×k; with
    /// <paramref name="transposeB"/> B is stored n×k, else k×n (all row-major, dense). With
    /// <paramref name="appendOnesColumn"/> B gains a column of ones, so C gains a column holding the row sums of op(A).</summary>
    /// <remarks>The epilogue may be called from two threads at once, always for different (row, column) pieces, and may
    /// run on a copy: it must write its results through the spans it holds, not into its own fields.</remarks>
    public static void Multiply<T, TEpilogue>(ReadOnlySpan<T> a, bool transposeA, ReadOnlySpan<T> b, bool transposeB,
        int m, int n, int k, ref TEpilogue epilogue, bool appendOnesColumn = false)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (m <= 0 || n <= 0 || k <= 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"Product dimensions must be positive, got m={m}, n={n}, k={k}.");
        if (a.Length < m * k) throw new ArgumentException($"A holds {a.Length} values but a {m}×{k} operand needs {m * k}.", nameof(a));
        if (b.Length < k * n) throw new ArgumentException($"B holds {b.Length} values but a {k}×{n} operand needs {k * n}.", nameof(b));

        var job = new Job<T, TEpilogue>(new Operands<T>(a, transposeA, b, transposeB, m, n, k, appendOnesColumn), epilogue);
        if (Vector512.IsHardwareAccelerated)
            Dispatch<T, Vector512<T>, Simd512<T>, TEpilogue>(ref job);
        else if (Vector256.IsHardwareAccelerated)
            Dispatch<T, Vector256<T>, Simd256<T>, TEpilogue>(ref job);
        else
            Dispatch<T, T, Scalar<T>, TEpilogue>(ref job);
    }

    readonly ref struct Operands<T>(ReadOnlySpan<T> a, bool transposeA, ReadOnlySpan<T> b, bool transposeB,
        int m, int n, int k, bool onesColumn)
    {
        public readonly ReadOnlySpan<T> A = a, B = b;
        public readonly bool TransposeA = transposeA, TransposeB = transposeB, OnesColumn = onesColumn;
        public readonly int M = m, N = n, K = k;
        public int Columns => N + (OnesColumn ? 1 : 0);
    }

    /// <summary>Everything a part needs, on the caller's stack while both parts run.</summary>
    /// <remarks>The epilogue is held by value (C# has no ref field to a ref struct), which also keeps it on the stack
    /// where the worker may point to it.</remarks>
    ref struct Job<T, TEpilogue>(Operands<T> operands, TEpilogue epilogue)
        where T : unmanaged where TEpilogue : allows ref struct
    {
        public readonly Operands<T> Operands = operands;
        public TEpilogue Epilogue = epilogue;
        public bool SplitByPanels;
        /// <summary>Panels claimed so far by either part, when they share the panels one at a time.</summary>
        public int PanelsTaken;
        /// <summary>Row blocks claimed and halves of B packed, when the parts share a blocked product.</summary>
        public BlockedShares Shares;
    }

    /// <summary>How the two parts of a blocked product (<see cref="ComputeBlocked"/>) share its row blocks: per half of
    /// the panels, the row blocks claimed so far and, once packed, that half's panels of B.</summary>
    struct BlockedShares
    {
        public int Taken0, Taken1;
        public nint PackedB0, PackedB1;
    }

    static void Dispatch<T, TVector, TSimd, TEpilogue>(ref Job<T, TEpilogue> job)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        ref readonly var o = ref job.Operands;
        int panelWidth = GemmTuning.PanelVectors * TSimd.Count;
        int panels = (o.Columns + panelWidth - 1) / panelWidth;
        bool worthSharing = WorkSharing.Parts > 1 && (long)o.M * o.Columns * o.K >= SharedWorkThreshold
            && (panels >= 2 || o.M >= 2 * RowsPerTile);
        if (!worthSharing)
        {
            Compute<T, TVector, TSimd, TEpilogue>(o, ref job.Epilogue, 0, panels, 0, o.M);
            return;
        }
        job.SplitByPanels = panels >= 2;
        WorkSharing.Run(&Part<T, TVector, TSimd, TEpilogue>, Unsafe.AsPointer(ref job));
    }

    static void Part<T, TVector, TSimd, TEpilogue>(void* state, int part)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        ref var job = ref Unsafe.AsRef<Job<T, TEpilogue>>(state);
        ref readonly var o = ref job.Operands;
        int panelWidth = GemmTuning.PanelVectors * TSimd.Count;
        int panels = (o.Columns + panelWidth - 1) / panelWidth;
        if (job.SplitByPanels && TakesBlockedPath(o, (panels + 1) / 2, o.M))
        {
            var (first, last) = WorkSharing.Range(panels, part);
            ComputeBlocked<T, TVector, TSimd, TEpilogue>(o, ref job.Epilogue, first, last, 0, o.M, (BlockedShares*)Unsafe.AsPointer(ref job.Shares), part);
        }
        else if (job.SplitByPanels && TakesDotProducts(o))
        {
            // Dot products take their columns in one range.
            var (first, last) = WorkSharing.Range(panels, part);
            Compute<T, TVector, TSimd, TEpilogue>(o, ref job.Epilogue, first, last, 0, o.M);
        }
        else if (job.SplitByPanels)
        {
            // Cores may run at different speeds, so panels are claimed one at a time, the caller's from the first and the
            // worker's from the last: a core that runs faster or starts sooner takes more of them.
            Compute<T, TVector, TSimd, TEpilogue>(o, ref job.Epilogue, 0, panels, 0, o.M, (int*)Unsafe.AsPointer(ref job.PanelsTaken), fromLast: part == 1);
        }
        else
        {
            // Whole 8-row tiles to the caller, the rest (with any leftover rows) to the worker.
            int split = o.M / 2 / RowsPerTile * RowsPerTile;
            Compute<T, TVector, TSimd, TEpilogue>(o, ref job.Epilogue, 0, panels, part == 0 ? 0 : split, part == 0 ? split : o.M);
        }
    }

    /// <summary>The product restricted to column panels [firstPanel, lastPanel) and rows [firstRow, lastRow). With
    /// <paramref name="panelsTaken"/> the panels are shared with the other part: each is claimed through that count, from
    /// the first panel on or (<paramref name="fromLast"/>) from the last one back, until the two ends meet.</summary>
    static void Compute<T, TVector, TSimd, TEpilogue>(in Operands<T> operands, ref TEpilogue epilogue,
        int firstPanel, int lastPanel, int firstRow, int lastRow, int* panelsTaken = null, bool fromLast = false)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (firstPanel >= lastPanel || firstRow >= lastRow) return;
        int panelWidth = GemmTuning.PanelVectors * TSimd.Count;
        int columns = operands.Columns, k = operands.K, m = operands.M;
        if (TakesDotProducts(operands))
        {
            DotProducts<T, TVector, TSimd, TEpilogue>(operands, ref epilogue, firstPanel * panelWidth, Math.Min(lastPanel * panelWidth, columns), firstRow, lastRow);
            return;
        }
        // One panel is packed just before the row tiles pass over it, so it is still in L2 when they read it.
        Span<T> packed = Scratch<T>.Packed(panelWidth * k);

        // A[i, p] lives at i·rowStride + p·depthStride.
        int rowStride = operands.TransposeA ? 1 : k;
        int depthStride = operands.TransposeA ? m : 1;
        ref T a = ref MemoryMarshal.GetReference(operands.A);

        // Over a long inner dimension the sums are carried across depth blocks, so the block of the panel being read
        // (DepthBlock rows × panelWidth) stays in L1 while every row tile passes over it. Each tile's running sums
        // then need their own place; with one block they live only as long as the tile and one place serves all.
        int blocks = DepthBlocks(k);
        int depthBlock = (k + blocks - 1) / blocks; // equal blocks: no short tail block that reloads every tile's sums
        // The panels this part will pass over: all of its range, or about half when it shares them.
        int ownPanels = panelsTaken == null ? lastPanel - firstPanel : (lastPanel - firstPanel + 1) / 2;
        if (panelsTaken == null && TakesBlockedPath(operands, ownPanels, lastRow - firstRow))
        {
            ComputeBlocked<T, TVector, TSimd, TEpilogue>(operands, ref epilogue, firstPanel, lastPanel, firstRow, lastRow);
            return;
        }
        int sumsStride = blocks == 1 ? 0 : panelWidth;
        Span<T> sums = Scratch<T>.Sums((blocks == 1 ? RowsPerTile : lastRow - firstRow + RowsPerTile) * panelWidth);
        ref T sums0 = ref MemoryMarshal.GetReference(sums);

        // A's whole 8-row tiles are packed once when three or more panels will read them: each tile's rows become one
        // stream, [depth][row], instead of eight streams a row apart (or one strided stream of A stored k×m). For two
        // panels the copy costs what it saves (a convolution's per-sample products with 64 filters: the CNN step +8%).
        int tiles = (lastRow - firstRow) / RowsPerTile;
        bool packA = ownPanels >= 3 && tiles > 0;
        Span<T> packedA = packA ? Scratch<T>.PackedA(tiles * RowsPerTile * k) : default;
        if (packA) PackA(operands, firstRow, tiles, 0, k, packedA);
        ref T packedA0 = ref MemoryMarshal.GetReference(packedA);

        for (int claimed = 0; ; claimed++)
        {
            if (panelsTaken == null ? firstPanel + claimed >= lastPanel : Interlocked.Increment(ref *panelsTaken) > lastPanel - firstPanel) break;
            int panel = fromLast ? lastPanel - 1 - claimed : firstPanel + claimed;
            int column = panel * panelWidth;
            int width = Math.Min(panelWidth, columns - column);
            PackB(operands, panelWidth, panel, panel + 1, packed);
            ref T panelStart = ref MemoryMarshal.GetReference(packed);
            for (int depth = 0; depth < k; depth += depthBlock)
            {
                int depthCount = Math.Min(depthBlock, k - depth);
                bool carried = depth > 0, finished = depth + depthCount == k;
                RowTiles<T, TVector, TSimd, TEpilogue>(ref Unsafe.Add(ref packedA0, depth * RowsPerTile), k, packA,
                    ref Unsafe.Add(ref a, firstRow * rowStride + depth * depthStride), rowStride, depthStride, lastRow - firstRow,
                    ref Unsafe.Add(ref panelStart, depth * panelWidth), depthCount, ref sums0, sumsStride, carried, finished,
                    firstRow, column, width, ref epilogue);
            }
        }
    }

    /// <summary>Rows [0, <paramref name="rows"/>) of C times one panel's depth block: whole 8-row tiles (from packed A,
    /// a row <paramref name="packedRowStride"/> apart, when <paramref name="packed"/>; else from A itself), then a 4-row
    /// tile and single rows, which always read A itself. Row i's sums lie at <paramref name="sums"/> + i ·
    /// <paramref name="sumsStride"/> (0: one place, reused by each tile in turn); when <paramref name="finished"/>, each
    /// tile's rows go to the epilogue, as rows <paramref name="firstRow"/> + i, as soon as the tile is done.</summary>
    static void RowTiles<T, TVector, TSimd, TEpilogue>(ref T packedA, int packedRowStride, bool packed, ref T a, nint rowStride,
        nint depthStride, int rows, ref T block, int depthCount, ref T sums, int sumsStride, bool carried, bool finished,
        int firstRow, int column, int width, ref TEpilogue epilogue, byte* upcoming = null, int upcomingBytes = 0)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        int panelWidth = 2 * TSimd.Count, i = 0;
        // Each tile asks for its share of the block the next pass will read (from beyond L2) to be brought to L2, so the
        // next pass's first tile does not wait on memory for it.
        int share = upcoming == null ? 0 : (upcomingBytes / Math.Max(1, rows / RowsPerTile) + 63) & ~63;
        for (; i + RowsPerTile <= rows; i += RowsPerTile)
        {
            if (share > 0 && Sse.IsSupported)
                for (int at = i / RowsPerTile * share, end = Math.Min(at + share, upcomingBytes); at < end; at += 64)
                    Sse.Prefetch1(upcoming + at);
            ref T place = ref Unsafe.Add(ref sums, i * sumsStride);
            if (packed)
                EightRows<T, TVector, TSimd>(ref Unsafe.Add(ref packedA, i * packedRowStride), 1, RowsPerTile, ref block, panelWidth, depthCount, ref place, carried);
            else
                EightRows<T, TVector, TSimd>(ref Unsafe.Add(ref a, i * rowStride), rowStride, depthStride, ref block, panelWidth, depthCount, ref place, carried);
            if (finished) HandOver(ref epilogue, firstRow + i, RowsPerTile, ref place);
        }
        if (i + 4 <= rows)
        {
            ref T place = ref Unsafe.Add(ref sums, i * sumsStride);
            FourRows<T, TVector, TSimd>(ref Unsafe.Add(ref a, i * rowStride), rowStride, depthStride, ref block, depthCount, ref place, carried);
            if (finished) HandOver(ref epilogue, firstRow + i, 4, ref place);
            i += 4;
        }
        for (; i < rows; i++)
        {
            ref T place = ref Unsafe.Add(ref sums, i * sumsStride);
            OneRow<T, TVector, TSimd>(ref Unsafe.Add(ref a, i * rowStride), depthStride, ref block, depthCount, ref place, carried);
            if (finished) HandOver(ref epilogue, firstRow + i, 1, ref place);
        }

        // A tile's rows lie a panel apart from its place on.
        void HandOver(ref TEpilogue epilogue, int row, int count, ref T place)
        {
            for (int r = 0; r < count; r++)
                epilogue.Apply(row + r, column, MemoryMarshal.CreateSpan(ref Unsafe.Add(ref place, r * panelWidth), width));
        }
    }

    const long PackedALimit = GemmTuning.PackedALimit;

    /// <summary>Whether the product is taken as dot products: a few rows (a single prediction, say) with B stored n×k.</summary>
    static bool TakesDotProducts<T>(in Operands<T> operands) where T : unmanaged =>
        operands.TransposeB && !operands.TransposeA && operands.M < FewRows;

    /// <summary>Depth blocks over an inner dimension of <paramref name="k"/>: one when a panel this short already fits L1.</summary>
    static int DepthBlocks(int k) => k <= 2 * DepthBlock ? 1 : (k + DepthBlock - 1) / DepthBlock;

    /// <summary>Whether a part with <paramref name="panels"/> panels of <paramref name="rows"/> rows takes <see cref="ComputeBlocked"/>.</summary>
    static bool TakesBlockedPath<T>(in Operands<T> operands, int panels, int rows) where T : unmanaged =>
        DepthBlocks(operands.K) > 1 && panels >= 2 && (long)rows * operands.K * Unsafe.SizeOf<T>() > PackedALimit;

    const int RowBlock = GemmTuning.RowBlock;

    /// <summary>The product for large A, in the order of BLIS and GotoBLAS: all of this part's panels of B packed first;
    /// then for each block of <see cref="RowBlock"/> rows and each depth block, that block of A is packed (it stays in
    /// L2) and every panel passes under it, each panel's depth block read from L1 by all the block's row tiles. The
    /// running sums of the row block's tiles over all panels stay in L2 across the depth blocks. Memory then carries
    /// B once per row block instead of all of A once per panel: for one core's half of the 2048² layer 80 MB instead
    /// of 512 MB.</summary>
    /// <remarks>Shared between the cores (<paramref name="shares"/>), each part packs its half of the panels of B,
    /// publishes it, takes its half's row blocks one at a time and then any of the other half's row blocks still
    /// unclaimed, with the other half's packed B: cores may run at different speeds for seconds at a time, and with
    /// fixed halves the faster one would wait for the other.</remarks>
    static void ComputeBlocked<T, TVector, TSimd, TEpilogue>(in Operands<T> operands, ref TEpilogue epilogue,
        int firstPanel, int lastPanel, int firstRow, int lastRow, BlockedShares* shares = null, int part = 0)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        int panelWidth = 2 * TSimd.Count, k = operands.K;
        Span<T> packedB = Scratch<T>.Packed((lastPanel - firstPanel) * panelWidth * k);
        PackB(operands, panelWidth, firstPanel, lastPanel, packedB);
        var own = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(packedB));
        if (shares == null)
        {
            RowBlocks<T, TVector, TSimd, TEpilogue>(operands, ref epilogue, own, firstPanel, lastPanel, firstRow, lastRow, null);
            return;
        }
        // A part that runs after the other (the worker never started) finds all of the other half's row blocks taken,
        // so it never reads a packed B that its own packing has since overwritten.
        Volatile.Write(ref part == 0 ? ref shares->PackedB0 : ref shares->PackedB1, (nint)own);
        RowBlocks<T, TVector, TSimd, TEpilogue>(operands, ref epilogue, own, firstPanel, lastPanel, firstRow, lastRow,
            part == 0 ? &shares->Taken0 : &shares->Taken1);
        var other = (T*)Volatile.Read(ref part == 0 ? ref shares->PackedB1 : ref shares->PackedB0);
        if (other == null) return;
        var (otherFirst, otherLast) = WorkSharing.Range((operands.Columns + panelWidth - 1) / panelWidth, 1 - part);
        RowBlocks<T, TVector, TSimd, TEpilogue>(operands, ref epilogue, other, otherFirst, otherLast, firstRow, lastRow,
            part == 0 ? &shares->Taken1 : &shares->Taken0);
    }

    /// <summary>The blocks of <see cref="RowBlock"/> rows of [firstRow, lastRow) times panels [firstPanel, lastPanel),
    /// packed at <paramref name="packedB"/>: all of them in order, or those claimed one at a time through
    /// <paramref name="taken"/>. For each block and depth block, that block of A is packed and every panel passes under it.</summary>
    static void RowBlocks<T, TVector, TSimd, TEpilogue>(in Operands<T> operands, ref TEpilogue epilogue, T* packedB,
        int firstPanel, int lastPanel, int firstRow, int lastRow, int* taken)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        int panelWidth = 2 * TSimd.Count, panels = lastPanel - firstPanel;
        int columns = operands.Columns, k = operands.K;
        int blocks = DepthBlocks(k), depthBlock = (k + blocks - 1) / blocks;
        ref T packedB0 = ref *packedB;
        int rowStride = operands.TransposeA ? 1 : k;
        int depthStride = operands.TransposeA ? operands.M : 1;
        ref T a = ref MemoryMarshal.GetReference(operands.A);
        // Sums by panel, then row: a tile's eight rows of one panel lie together, as the micro-kernels keep them.
        int panelSums = RowBlock * panelWidth;
        ref T sums0 = ref MemoryMarshal.GetReference(Scratch<T>.Sums(panels * panelSums));
        Span<T> packedA = Scratch<T>.PackedA(RowBlock * depthBlock);
        ref T packedA0 = ref MemoryMarshal.GetReference(packedA);
        int rowBlocks = (lastRow - firstRow + RowBlock - 1) / RowBlock;

        for (int claimed = 0; ; claimed++)
        {
            int block = taken == null ? claimed : Interlocked.Increment(ref *taken) - 1;
            if (block >= rowBlocks) break;
            int blockRow = firstRow + block * RowBlock;
            int rows = Math.Min(RowBlock, lastRow - blockRow), tiles = rows / RowsPerTile;
            for (int depth = 0; depth < k; depth += depthBlock)
            {
                int depthCount = Math.Min(depthBlock, k - depth);
                bool carried = depth > 0, finished = depth + depthCount == k;
                PackA(operands, blockRow, tiles, depth, depthCount, packedA);
                ref T aBlock = ref Unsafe.Add(ref a, blockRow * rowStride + depth * depthStride);
                for (int p = 0; p < panels; p++)
                {
                    int column = (firstPanel + p) * panelWidth, width = Math.Min(panelWidth, columns - column);
                    // The block the next pass reads: the next panel's, or the first panel's of the next depth block.
                    int nextPanel = p + 1 < panels ? p + 1 : 0, nextDepth = p + 1 < panels ? depth : depth + depthCount;
                    byte* upcoming = nextDepth < k ? (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref packedB0, (nextPanel * k + nextDepth) * panelWidth)) : null;
                    RowTiles<T, TVector, TSimd, TEpilogue>(ref packedA0, depthCount, true, ref aBlock, rowStride, depthStride, rows,
                        ref Unsafe.Add(ref packedB0, (p * k + depth) * panelWidth), depthCount, ref Unsafe.Add(ref sums0, p * panelSums),
                        panelWidth, carried, finished, blockRow, column, width, ref epilogue,
                        upcoming, Math.Min(depthBlock, k - nextDepth) * panelWidth * Unsafe.SizeOf<T>());
                }
            }
        }
    }

    const int DepthBlock = GemmTuning.DepthBlock;
    const int FewRows = GemmTuning.FewRows;

    /// <summary>C = A·Bᵀ for a few rows of A, as dot products of A's rows with B's rows, both contiguous: packing B
    /// would cost as much as the product. Eight columns at a time (then four, then one) share each load of A.</summary>
    static void DotProducts<T, TVector, TSimd, TEpilogue>(in Operands<T> operands, ref TEpilogue epilogue,
        int firstColumn, int lastColumn, int firstRow, int lastRow)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        int k = operands.K, n = operands.N, count = TSimd.Count, segment = 2 * TSimd.Count;
        ref T a0 = ref MemoryMarshal.GetReference(operands.A);
        ref T b0 = ref MemoryMarshal.GetReference(operands.B);
        Span<T> values = stackalloc T[segment];
        for (int i = firstRow; i < lastRow; i++)
        {
            ref T a = ref Unsafe.Add(ref a0, i * k);
            for (int column = firstColumn; column < lastColumn; column += segment)
            {
                int width = Math.Min(segment, lastColumn - column);
                int j = 0;
                for (; j + 8 <= width && column + j + 8 <= n; j += 8)
                    EightDots<T, TVector, TSimd>(ref a, ref Unsafe.Add(ref b0, (column + j) * k), k, ref values[j]);
                for (; j + 4 <= width && column + j + 4 <= n; j += 4)
                {
                    ref T b = ref Unsafe.Add(ref b0, (column + j) * k);
                    TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero;
                    int p = 0;
                    for (; p + count <= k; p += count)
                    {
                        TVector x = TSimd.Load(ref Unsafe.Add(ref a, p));
                        c0 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, p)), c0);
                        c1 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, k + p)), c1);
                        c2 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, 2 * k + p)), c2);
                        c3 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, 3 * k + p)), c3);
                    }
                    T s0 = TSimd.Sum(c0), s1 = TSimd.Sum(c1), s2 = TSimd.Sum(c2), s3 = TSimd.Sum(c3);
                    for (; p < k; p++)
                    {
                        T x = Unsafe.Add(ref a, p);
                        s0 += x * Unsafe.Add(ref b, p); s1 += x * Unsafe.Add(ref b, k + p);
                        s2 += x * Unsafe.Add(ref b, 2 * k + p); s3 += x * Unsafe.Add(ref b, 3 * k + p);
                    }
                    values[j] = s0; values[j + 1] = s1; values[j + 2] = s2; values[j + 3] = s3;
                }
                for (; j < width; j++)
                {
                    // The last few columns one at a time; the ones column (j = n) is the row sum of A.
                    bool ones = column + j == n;
                    ref T b = ref Unsafe.Add(ref b0, ones ? 0 : (column + j) * k);
                    T sum = T.Zero;
                    for (int p = 0; p < k; p++) sum += Unsafe.Add(ref a, p) * (ones ? T.One : Unsafe.Add(ref b, p));
                    values[j] = sum;
                }
                epilogue.Apply(i, column, values[..width]);
            }
        }
    }

    /// <summary>Eight dot products of A's row with eight consecutive rows of B (k apart) into
    /// <paramref name="results"/>: eight independent FMA chains, each load of A shared by eight, and the eight sums
    /// reduced together (for 512-bit floats: halves added, then three rounds of pairwise adds across the eight).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void EightDots<T, TVector, TSimd>(ref T a, ref T b, int k, ref T results)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count, stride = k;
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero;
        TVector c4 = TSimd.Zero, c5 = TSimd.Zero, c6 = TSimd.Zero, c7 = TSimd.Zero;
        ref T b4 = ref Unsafe.Add(ref b, 4 * stride);
        nint p = 0;
        for (; p + count <= k; p += count)
        {
            // Eight rows of B stream at once, more than the L1 prefetcher follows: each row's line eight lines ahead is
            // asked for (a single prediction 5-10% faster; sixteen lines ahead measured slower). Past a row's end it
            // asks for the next row's start, or for nothing: a prefetch never faults.
            if (Sse.IsSupported)
            {
                byte* ahead = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref b, p + 128));
                nint rowBytes = stride * Unsafe.SizeOf<T>();
                Sse.Prefetch0(ahead); Sse.Prefetch0(ahead + rowBytes); Sse.Prefetch0(ahead + 2 * rowBytes); Sse.Prefetch0(ahead + 3 * rowBytes);
                Sse.Prefetch0(ahead + 4 * rowBytes); Sse.Prefetch0(ahead + 5 * rowBytes); Sse.Prefetch0(ahead + 6 * rowBytes); Sse.Prefetch0(ahead + 7 * rowBytes);
            }
            TVector x = TSimd.Load(ref Unsafe.Add(ref a, p));
            c0 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, p)), c0);
            c1 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, stride + p)), c1);
            c2 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, 2 * stride + p)), c2);
            c3 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b, 3 * stride + p)), c3);
            c4 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, p)), c4);
            c5 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, stride + p)), c5);
            c6 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, 2 * stride + p)), c6);
            c7 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref b4, 3 * stride + p)), c7);
        }
        if (typeof(TVector) == typeof(Vector512<float>) && Avx.IsSupported)
            Sums8(Unsafe.As<TVector, Vector512<float>>(ref c0), Unsafe.As<TVector, Vector512<float>>(ref c1),
                Unsafe.As<TVector, Vector512<float>>(ref c2), Unsafe.As<TVector, Vector512<float>>(ref c3),
                Unsafe.As<TVector, Vector512<float>>(ref c4), Unsafe.As<TVector, Vector512<float>>(ref c5),
                Unsafe.As<TVector, Vector512<float>>(ref c6), Unsafe.As<TVector, Vector512<float>>(ref c7))
                .StoreUnsafe(ref Unsafe.As<T, float>(ref results));
        else
        {
            results = TSimd.Sum(c0); Unsafe.Add(ref results, 1) = TSimd.Sum(c1);
            Unsafe.Add(ref results, 2) = TSimd.Sum(c2); Unsafe.Add(ref results, 3) = TSimd.Sum(c3);
            Unsafe.Add(ref results, 4) = TSimd.Sum(c4); Unsafe.Add(ref results, 5) = TSimd.Sum(c5);
            Unsafe.Add(ref results, 6) = TSimd.Sum(c6); Unsafe.Add(ref results, 7) = TSimd.Sum(c7);
        }
        for (; p < k; p++)
        {
            T x = Unsafe.Add(ref a, p);
            for (int j = 0; j < 8; j++) Unsafe.Add(ref results, j) += x * Unsafe.Add(ref b, j * stride + p);
        }

        // Each sum's 512-bit halves added, then pairwise adds within 128-bit lanes leave sum j's lane-l part at element
        // j % 4 of lane l of h0123 (j < 4) or h4567; the last step adds the lanes.
        static Vector256<float> Sums8(Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3,
            Vector512<float> c4, Vector512<float> c5, Vector512<float> c6, Vector512<float> c7)
        {
            Vector256<float> v0 = c0.GetLower() + c0.GetUpper(), v1 = c1.GetLower() + c1.GetUpper();
            Vector256<float> v2 = c2.GetLower() + c2.GetUpper(), v3 = c3.GetLower() + c3.GetUpper();
            Vector256<float> v4 = c4.GetLower() + c4.GetUpper(), v5 = c5.GetLower() + c5.GetUpper();
            Vector256<float> v6 = c6.GetLower() + c6.GetUpper(), v7 = c7.GetLower() + c7.GetUpper();
            var h0123 = Avx.HorizontalAdd(Avx.HorizontalAdd(v0, v1), Avx.HorizontalAdd(v2, v3));
            var h4567 = Avx.HorizontalAdd(Avx.HorizontalAdd(v4, v5), Avx.HorizontalAdd(v6, v7));
            return Avx.Permute2x128(h0123, h4567, 0x20) + Avx.Permute2x128(h0123, h4567, 0x31);
        }
    }

    // The micro-kernels are kept out of line: inlined into Compute they shared its registers, and the JIT reloaded
    // loop bounds from the stack on every step of the inner loop (half the FMA rate on a core with two FMA units).

    /// <summary>Eight rows of C times one panel: 16 accumulators, enough independent FMA chains for two FMA units
    /// of four cycles' latency; each step loads the panel row once and broadcasts eight values of A. The panel's rows lie
    /// <paramref name="panelStride"/> apart: a packed panel's two vectors, or a row of <see cref="InputMajorDense"/>.</summary>
    /// <remarks>A packed tile of A ([depth][row]: rows 1 apart, depths 8) with 512-bit vectors takes a loop of its own,
    /// where each row's value is read for its second FMA through a twin pointer the JIT cannot prove equal to the first
    /// (<see cref="opaqueZero"/>). Otherwise the JIT loads the value once into a register shared by the row's two FMAs;
    /// this way each FMA broadcasts it from memory itself (AVX-512's embedded broadcast), and a step is 2 loads and 16
    /// FMAs instead of 2 loads, 8 broadcasts and 16 FMAs (+4-9% on the 2048 layer and the MLP's steps). The same products
    /// summed in the same order: the same bits. Elsewhere the twin reads would need an index register (no faster,
    /// measured), and without embedded broadcasts (256-bit vectors) each FMA would need a broadcast instruction.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void EightRows<T, TVector, TSimd>(ref T a, nint rowStride, nint depthStride, ref T panel, nint panelStride, int k, ref T t, bool carried)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count;
        TVector c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero;
        TVector c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero;
        TVector c40 = TSimd.Zero, c41 = TSimd.Zero, c50 = TSimd.Zero, c51 = TSimd.Zero;
        TVector c60 = TSimd.Zero, c61 = TSimd.Zero, c70 = TSimd.Zero, c71 = TSimd.Zero;
        if (carried)
        {
            c00 = Load(ref t, 0); c01 = Load(ref t, 1); c10 = Load(ref t, 2); c11 = Load(ref t, 3);
            c20 = Load(ref t, 4); c21 = Load(ref t, 5); c30 = Load(ref t, 6); c31 = Load(ref t, 7);
            c40 = Load(ref t, 8); c41 = Load(ref t, 9); c50 = Load(ref t, 10); c51 = Load(ref t, 11);
            c60 = Load(ref t, 12); c61 = Load(ref t, 13); c70 = Load(ref t, 14); c71 = Load(ref t, 15);
        }
        if (typeof(TVector) == typeof(Vector512<T>) && rowStride == 1 && depthStride == RowsPerTile)
        {
            ref T twin = ref Unsafe.Add(ref a, opaqueZero);
            for (; k > 0; k--)
            {
                TVector b0 = TSimd.Load(ref panel), b1 = TSimd.Load(ref Unsafe.Add(ref panel, count));
                c00 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(a), c00); c01 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(twin), c01);
                c10 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 1)), c10); c11 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 1)), c11);
                c20 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 2)), c20); c21 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 2)), c21);
                c30 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 3)), c30); c31 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 3)), c31);
                c40 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 4)), c40); c41 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 4)), c41);
                c50 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 5)), c50); c51 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 5)), c51);
                c60 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 6)), c60); c61 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 6)), c61);
                c70 = TSimd.MultiplyAdd(b0, TSimd.Broadcast(Unsafe.Add(ref a, 7)), c70); c71 = TSimd.MultiplyAdd(b1, TSimd.Broadcast(Unsafe.Add(ref twin, 7)), c71);
                a = ref Unsafe.Add(ref a, RowsPerTile);
                twin = ref Unsafe.Add(ref twin, RowsPerTile);
                panel = ref Unsafe.Add(ref panel, panelStride);
            }
        }
        else
        {
            // Rows 0-3 and 4-7 from two moving bases, each row at base + r·rowStride.
            ref T upper = ref a;
            ref T lower = ref Unsafe.Add(ref a, 4 * rowStride);
            nint twoRows = 2 * rowStride, threeRows = 3 * rowStride;
            for (; k > 0; k--)
            {
                TVector b0 = TSimd.Load(ref panel), b1 = TSimd.Load(ref Unsafe.Add(ref panel, count));
                TVector x = TSimd.Broadcast(upper);
                c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(Unsafe.Add(ref upper, rowStride));
                c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(Unsafe.Add(ref upper, twoRows));
                c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(Unsafe.Add(ref upper, threeRows));
                c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(lower);
                c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(Unsafe.Add(ref lower, rowStride));
                c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                x = TSimd.Broadcast(Unsafe.Add(ref lower, twoRows));
                c60 = TSimd.MultiplyAdd(x, b0, c60); c61 = TSimd.MultiplyAdd(x, b1, c61);
                x = TSimd.Broadcast(Unsafe.Add(ref lower, threeRows));
                c70 = TSimd.MultiplyAdd(x, b0, c70); c71 = TSimd.MultiplyAdd(x, b1, c71);
                upper = ref Unsafe.Add(ref upper, depthStride);
                lower = ref Unsafe.Add(ref lower, depthStride);
                panel = ref Unsafe.Add(ref panel, panelStride);
            }
        }
        Store(c00, ref t, 0); Store(c01, ref t, 1); Store(c10, ref t, 2); Store(c11, ref t, 3);
        Store(c20, ref t, 4); Store(c21, ref t, 5); Store(c30, ref t, 6); Store(c31, ref t, 7);
        Store(c40, ref t, 8); Store(c41, ref t, 9); Store(c50, ref t, 10); Store(c51, ref t, 11);
        Store(c60, ref t, 12); Store(c61, ref t, 13); Store(c70, ref t, 14); Store(c71, ref t, 15);

        static TVector Load(ref T t, int vector) => TSimd.Load(ref Unsafe.Add(ref t, vector * TSimd.Count));
        static void Store(TVector value, ref T t, int vector) => TSimd.Store(value, ref Unsafe.Add(ref t, vector * TSimd.Count));
    }

    /// <summary>An offset of zero that the JIT cannot see through (nothing writes it). A compiler that did see through it
    /// would merge each row's two reads again: the kernel would lose its gain, never its correctness.</summary>
    static nint opaqueZero = 0;

    /// <summary>Four rows of C times one panel (the rows an eight-row tile leaves).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void FourRows<T, TVector, TSimd>(ref T a, nint rowStride, nint depthStride, ref T panel, int k, ref T t, bool carried)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count;
        TVector c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero;
        TVector c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero;
        if (carried)
        {
            c00 = TSimd.Load(ref t); c01 = TSimd.Load(ref Unsafe.Add(ref t, count));
            c10 = TSimd.Load(ref Unsafe.Add(ref t, 2 * count)); c11 = TSimd.Load(ref Unsafe.Add(ref t, 3 * count));
            c20 = TSimd.Load(ref Unsafe.Add(ref t, 4 * count)); c21 = TSimd.Load(ref Unsafe.Add(ref t, 5 * count));
            c30 = TSimd.Load(ref Unsafe.Add(ref t, 6 * count)); c31 = TSimd.Load(ref Unsafe.Add(ref t, 7 * count));
        }
        nint twoRows = 2 * rowStride, threeRows = 3 * rowStride;
        for (; k > 0; k--)
        {
            TVector b0 = TSimd.Load(ref panel), b1 = TSimd.Load(ref Unsafe.Add(ref panel, count));
            TVector x = TSimd.Broadcast(a);
            c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
            x = TSimd.Broadcast(Unsafe.Add(ref a, rowStride));
            c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
            x = TSimd.Broadcast(Unsafe.Add(ref a, twoRows));
            c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
            x = TSimd.Broadcast(Unsafe.Add(ref a, threeRows));
            c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
            a = ref Unsafe.Add(ref a, depthStride);
            panel = ref Unsafe.Add(ref panel, 2 * count);
        }
        TSimd.Store(c00, ref t); TSimd.Store(c01, ref Unsafe.Add(ref t, count));
        TSimd.Store(c10, ref Unsafe.Add(ref t, 2 * count)); TSimd.Store(c11, ref Unsafe.Add(ref t, 3 * count));
        TSimd.Store(c20, ref Unsafe.Add(ref t, 4 * count)); TSimd.Store(c21, ref Unsafe.Add(ref t, 5 * count));
        TSimd.Store(c30, ref Unsafe.Add(ref t, 6 * count)); TSimd.Store(c31, ref Unsafe.Add(ref t, 7 * count));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void OneRow<T, TVector, TSimd>(ref T a, nint depthStride, ref T panel, int k, ref T t, bool carried)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
    {
        nint count = TSimd.Count;
        TVector c0 = carried ? TSimd.Load(ref t) : TSimd.Zero;
        TVector c1 = carried ? TSimd.Load(ref Unsafe.Add(ref t, count)) : TSimd.Zero;
        for (; k > 0; k--)
        {
            TVector x = TSimd.Broadcast(a);
            c0 = TSimd.MultiplyAdd(x, TSimd.Load(ref panel), c0);
            c1 = TSimd.MultiplyAdd(x, TSimd.Load(ref Unsafe.Add(ref panel, count)), c1);
            a = ref Unsafe.Add(ref a, depthStride);
            panel = ref Unsafe.Add(ref panel, 2 * count);
        }
        TSimd.Store(c0, ref t);
        TSimd.Store(c1, ref Unsafe.Add(ref t, count));
    }

    /// <summary>Copies depths [<paramref name="firstDepth"/>, + <paramref name="depths"/>) of the 8-row tiles of op(A)
    /// starting at <paramref name="firstRow"/> into <paramref name="packed"/>, each tile stored depths × 8 rows contiguous.</summary>
    static void PackA<T>(in Operands<T> operands, int firstRow, int tiles, int firstDepth, int depths, Span<T> packed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = operands.M, k = operands.K;
        ref T a = ref Unsafe.Add(ref MemoryMarshal.GetReference(operands.A), operands.TransposeA ? firstDepth * m : firstDepth);
        ref T target = ref MemoryMarshal.GetReference(packed);
        for (int t = 0; t < tiles; t++)
        {
            int row = firstRow + t * RowsPerTile;
            ref T tile = ref Unsafe.Add(ref target, t * RowsPerTile * depths);
            if (operands.TransposeA && Vector256<T>.Count == RowsPerTile && Vector256.IsHardwareAccelerated)
                for (int p = 0; p < depths; p++)
                    Vector256.LoadUnsafe(ref Unsafe.Add(ref a, p * m + row)).StoreUnsafe(ref Unsafe.Add(ref tile, p * RowsPerTile));
            else if (operands.TransposeA)
                for (int p = 0; p < depths; p++)
                    for (int r = 0; r < RowsPerTile; r++)
                        Unsafe.Add(ref tile, p * RowsPerTile + r) = Unsafe.Add(ref a, p * m + row + r);
            else
            {
                ref T source = ref Unsafe.Add(ref a, row * k);
                int p = 0;
                if (typeof(T) == typeof(float) && Avx.IsSupported)
                    for (; p + 8 <= depths; p += 8)
                        Transpose8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref source, p)), k,
                            ref Unsafe.As<T, float>(ref Unsafe.Add(ref tile, p * RowsPerTile)));
                for (; p < depths; p++)
                    for (int r = 0; r < RowsPerTile; r++)
                        Unsafe.Add(ref tile, p * RowsPerTile + r) = Unsafe.Add(ref source, r * k + p);
            }
        }
    }

    /// <summary>Writes the transpose of an 8×8 block (rows <paramref name="sourceStride"/> apart) as 8 contiguous rows
    /// of 8, in registers: 32-bit and 64-bit interleaves within 128-bit lanes, then the lanes exchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8(ref float source, int sourceStride, ref float target)
    {
        nint stride = sourceStride;
        var r0 = Vector256.LoadUnsafe(ref source);
        var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, stride));
        var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 2 * stride));
        var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 3 * stride));
        var r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 4 * stride));
        var r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 5 * stride));
        var r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 6 * stride));
        var r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 7 * stride));
        // t: pairs of rows interleaved; s: four rows' values at depths {0,4}, {1,5}, {2,6}, {3,7} per 128-bit lane.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).StoreUnsafe(ref target);
        Avx.Permute2x128(s1, s5, 0x20).StoreUnsafe(ref target, 8);
        Avx.Permute2x128(s2, s6, 0x20).StoreUnsafe(ref target, 16);
        Avx.Permute2x128(s3, s7, 0x20).StoreUnsafe(ref target, 24);
        Avx.Permute2x128(s0, s4, 0x31).StoreUnsafe(ref target, 32);
        Avx.Permute2x128(s1, s5, 0x31).StoreUnsafe(ref target, 40);
        Avx.Permute2x128(s2, s6, 0x31).StoreUnsafe(ref target, 48);
        Avx.Permute2x128(s3, s7, 0x31).StoreUnsafe(ref target, 56);
    }

    /// <summary>Copies panels [firstPanel, lastPanel) of op(B) (plus the ones column) into <paramref name="packed"/>,
    /// each stored k rows × panelWidth contiguous and zero-padded, so the micro-kernel reads B with unit stride.</summary>
    static void PackB<T>(in Operands<T> operands, int panelWidth, int firstPanel, int lastPanel, Span<T> packed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = operands.N, k = operands.K;
        ref T b = ref MemoryMarshal.GetReference(operands.B);
        for (int panel = firstPanel; panel < lastPanel; panel++)
        {
            int column = panel * panelWidth;
            ref T destination = ref packed[(panel - firstPanel) * panelWidth * k];
            int stored = Math.Max(0, Math.Min(panelWidth, n - column));
            if (!operands.TransposeB && Vector256.IsHardwareAccelerated && stored == panelWidth && panelWidth % Vector256<T>.Count == 0)
            {
                // Whole panel rows by vector moves: a copy call per 32-value row cost as much as the copy.
                for (int p = 0; p < k; p++)
                {
                    ref T source = ref Unsafe.Add(ref b, p * n + column);
                    ref T target = ref Unsafe.Add(ref destination, p * panelWidth);
                    for (int c = 0; c < panelWidth; c += Vector256<T>.Count)
                        Vector256.LoadUnsafe(ref source, (nuint)c).StoreUnsafe(ref target, (nuint)c);
                }
            }
            else if (!operands.TransposeB)
            {
                for (int p = 0; p < k; p++)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref b, p * n + column), stored)
                        .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref destination, p * panelWidth), stored));
            }
            else
            {
                // B is stored n×k: transpose in strips of 16 depths, so the strip's source lines and the panel rows it
                // writes all stay in L1 (writing whole columns down a long panel missed L1 on every store).
                for (int strip = 0; strip < k; strip += 16)
                {
                    int depths = Math.Min(16, k - strip);
                    int c = 0;
                    if (typeof(T) == typeof(float) && Avx512F.IsSupported && depths == 16)
                        for (; c + 16 <= stored; c += 16)
                            Transpose16(ref Unsafe.As<T, float>(ref Unsafe.Add(ref b, (column + c) * k + strip)), k,
                                ref Unsafe.As<T, float>(ref Unsafe.Add(ref destination, strip * panelWidth + c)), panelWidth);
                    for (; c < stored; c++)
                    {
                        ref T source = ref Unsafe.Add(ref b, (column + c) * k + strip);
                        ref T target = ref Unsafe.Add(ref destination, strip * panelWidth + c);
                        for (int p = 0; p < depths; p++) Unsafe.Add(ref target, p * panelWidth) = Unsafe.Add(ref source, p);
                    }
                }
            }
            bool ones = operands.OnesColumn && n - column < panelWidth && n >= column;
            int filled = stored + (ones ? 1 : 0);
            // Only the columns past B (and the ones column) are cleared: a whole-panel clear cost more than the packing
            // for the narrow products of a convolution's weight gradient.
            if (filled < panelWidth || ones)
                for (int p = 0; p < k; p++)
                {
                    ref T row = ref Unsafe.Add(ref destination, p * panelWidth);
                    if (ones) Unsafe.Add(ref row, stored) = T.One;
                    MemoryMarshal.CreateSpan(ref Unsafe.Add(ref row, filled), panelWidth - filled).Clear();
                }
        }
    }

    /// <summary>Writes the transpose of a 16×16 block (rows <paramref name="sourceStride"/> apart) as 16 rows
    /// <paramref name="targetStride"/> apart, in registers: four rounds of in-register shuffles (32-bit, 64-bit, then
    /// 128-bit lanes twice) cost a fraction of the 256 scalar moves with strided stores they replace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose16(ref float source, int sourceStride, ref float target, int targetStride)
    {
        // After the first two rounds, lane l of q{g}{j} holds rows 4g..4g+3 at depth 4l + j: sixteen registers.
        FourRows(ref source, sourceStride, out var q00, out var q01, out var q02, out var q03);
        FourRows(ref Unsafe.Add(ref source, 4 * sourceStride), sourceStride, out var q10, out var q11, out var q12, out var q13);
        FourRows(ref Unsafe.Add(ref source, 8 * sourceStride), sourceStride, out var q20, out var q21, out var q22, out var q23);
        FourRows(ref Unsafe.Add(ref source, 12 * sourceStride), sourceStride, out var q30, out var q31, out var q32, out var q33);
        Gather(q00, q10, q20, q30, ref target, targetStride);
        Gather(q01, q11, q21, q31, ref Unsafe.Add(ref target, targetStride), targetStride);
        Gather(q02, q12, q22, q32, ref Unsafe.Add(ref target, 2 * targetStride), targetStride);
        Gather(q03, q13, q23, q33, ref Unsafe.Add(ref target, 3 * targetStride), targetStride);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void FourRows(ref float source, int stride, out Vector512<float> j0, out Vector512<float> j1,
            out Vector512<float> j2, out Vector512<float> j3)
        {
            var r0 = Vector512.LoadUnsafe(ref source);
            var r1 = Vector512.LoadUnsafe(ref source, (nuint)stride);
            var r2 = Vector512.LoadUnsafe(ref source, (nuint)(2 * stride));
            var r3 = Vector512.LoadUnsafe(ref source, (nuint)(3 * stride));
            Vector512<double> t0 = Avx512F.UnpackLow(r0, r1).AsDouble(), t1 = Avx512F.UnpackHigh(r0, r1).AsDouble();
            Vector512<double> t2 = Avx512F.UnpackLow(r2, r3).AsDouble(), t3 = Avx512F.UnpackHigh(r2, r3).AsDouble();
            j0 = Avx512F.UnpackLow(t0, t2).AsSingle();
            j1 = Avx512F.UnpackHigh(t0, t2).AsSingle();
            j2 = Avx512F.UnpackLow(t1, t3).AsSingle();
            j3 = Avx512F.UnpackHigh(t1, t3).AsSingle();
        }

        // Depths j, 4 + j, 8 + j and 12 + j: lane l of each row group's register, the four groups side by side.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Gather(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float> g3,
            ref float target, int stride)
        {
            var even01 = Avx512F.Shuffle4x128(g0, g1, 0x88);
            var odd01 = Avx512F.Shuffle4x128(g0, g1, 0xDD);
            var even23 = Avx512F.Shuffle4x128(g2, g3, 0x88);
            var odd23 = Avx512F.Shuffle4x128(g2, g3, 0xDD);
            Avx512F.Shuffle4x128(even01, even23, 0x88).StoreUnsafe(ref target);
            Avx512F.Shuffle4x128(odd01, odd23, 0x88).StoreUnsafe(ref target, (nuint)(4 * stride));
            Avx512F.Shuffle4x128(even01, even23, 0xDD).StoreUnsafe(ref target, (nuint)(8 * stride));
            Avx512F.Shuffle4x128(odd01, odd23, 0xDD).StoreUnsafe(ref target, (nuint)(12 * stride));
        }
    }

    /// <summary>Per-thread scratch: the packed panels of A and B, and the row tiles' running sums while a long inner
    /// dimension is walked in depth blocks. Each grows to the largest product seen on its thread, then every later
    /// product reuses it: no allocation per step. Each starts on a 64-byte boundary (<see cref="AlignedArray"/>).</summary>
    static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] static T[]? packed, packedA, sums;

        public static Span<T> Packed(int length) => Get(ref packed, length);

        public static Span<T> PackedA(int length) => Get(ref packedA, length);

        public static Span<T> Sums(int length) => Get(ref sums, length);

        static Span<T> Get(ref T[]? buffer, int length)
        {
            if (buffer is null || buffer.Length - AlignedArray.Start(buffer) < length)
                buffer = AlignedArray.Allocate<T>(length, uninitialized: true);
            return buffer.AsSpan(AlignedArray.Start(buffer), length);
        }
    }
}
