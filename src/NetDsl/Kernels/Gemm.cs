using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>The shared matrix product: <c>C = op(A) · op(B)</c>, with op(A) m×k and op(B) k×n, every piece of C
/// handed to an epilogue. B is packed into panels two vectors wide; an 8-row micro-kernel keeps 16 accumulators in
/// registers and broadcasts A. A product large enough to repay the hand-off is split between the two cores
/// (<see cref="WorkSharing"/>): by column panels when there are several, else by rows; each core packs the panels it uses.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe partial class Gemm
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
        Dispatch(ref job);
    }

    static void Dispatch<T, TEpilogue>(ref Job<T, TEpilogue> job)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
        if (Vector512.IsHardwareAccelerated)
            Dispatch<T, Vector512<T>, Simd512<T>, TEpilogue>(ref job);
        else if (Vector256.IsHardwareAccelerated)
            Dispatch<T, Vector256<T>, Simd256<T>, TEpilogue>(ref job);
        else
            Dispatch<T, T, Scalar<T>, TEpilogue>(ref job);
    }

    /// <summary>The product's operands. With <paramref name="patches"/> set, B is an image and the product reads
    /// im2col(B) under that geometry, packed straight from the image (<see cref="MultiplyPatches"/>).</summary>
    readonly ref struct Operands<T>(ReadOnlySpan<T> a, bool transposeA, ReadOnlySpan<T> b, bool transposeB,
        int m, int n, int k, bool onesColumn, ConvGeometry* patches = null)
    {
        public readonly ReadOnlySpan<T> A = a, B = b;
        public readonly bool TransposeA = transposeA, TransposeB = transposeB, OnesColumn = onesColumn;
        public readonly int M = m, N = n, K = k;
        /// <summary>A pointer, not the geometry itself: every product copies its operands, and most have none.</summary>
        public readonly ConvGeometry* Patches = patches;
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
            && o.K >= GemmTuning.SharedMinimumDepth && (panels >= 2 || o.M >= 2 * RowsPerTile);
        if (!worthSharing)
        {
            Compute<T, TVector, TSimd, TEpilogue>(o, ref job.Epilogue, 0, panels, 0, o.M);
            return;
        }
        job.SplitByPanels = panels >= 2;
        (job.PanelsTaken, job.Shares) = (0, default); // nothing claimed yet
        WorkSharing.Run(&Part<T, TVector, TSimd, TEpilogue>, ref job);
    }

    static void Part<T, TVector, TSimd, TEpilogue>(ref Job<T, TEpilogue> job, int part)
        where T : unmanaged, IFloatingPointIeee754<T> where TVector : struct where TSimd : ISimd<T, TVector>
        where TEpilogue : IGemmEpilogue<T>, allows ref struct
    {
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
}
