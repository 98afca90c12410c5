using ILGPU;
using ILGPU.Algorithms;
using System.ComponentModel;

namespace NetDsl.Gpu;

/// <summary>Receives each element of a product on the device. Generated networks implement it per layer to add the bias
/// and apply the activation and dropout (forward), or to form dZ = dA ⊙ mask ⊙ act′ (backward); ILGPU compiles one
/// product kernel per epilogue type with the epilogue inlined.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IGpuEpilogue
{
    /// <summary>Consumes <c>C[row, column] = value</c>.</summary>
    void Apply(int row, int column, float value);
}

/// <summary>The sizes and strides of <c>C = op(A)·op(B)</c>, op(A) m×k and op(B) k×n: op(A)[i, p] sits at
/// <c>i·ARowStride + p·ADepthStride</c>, op(B)[p, j] at <c>p·BDepthStride + j·BColumnStride</c>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct ProductShape(int M, int N, int K, int ARowStride, int ADepthStride, int BDepthStride, int BColumnStride)
{
    /// <summary>Split-K: the depth each layer of groups sums (0: all of K). Group layer z sums depths
    /// [z·DepthPerGroup, (z + 1)·DepthPerGroup) and hands its partial C[i, j] to the epilogue as row z·M + i.</summary>
    public int DepthPerGroup { get; init; }

    /// <summary>The shape of a product of row-major operands: A stored m×k (k×m with <paramref name="transposeA"/>), B
    /// stored k×n (n×k with <paramref name="transposeB"/>), the same conventions as the CPU's <c>Gemm.Multiply</c>.</summary>
    public static ProductShape Of(int m, int n, int k, bool transposeA, bool transposeB) => new(m, n, k,
        transposeA ? 1 : k, transposeA ? m : 1, transposeB ? 1 : n, transposeB ? k : 1);
}

/// <summary>The weight gradient of a Dense layer, dW = dZᵀ·X, with the regularization gradient l1·sign(w) + l2·w added
/// in the same pass (l1 and l2 already divided by the batch).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct WeightGradientEpilogue : IGpuEpilogue
{
    /// <summary>dW, laid out like W ([units, inputs]).</summary>
    public ArrayView<float> Gradient;

    /// <summary>W, for the regularization gradient.</summary>
    public ArrayView<float> Weights;

    /// <summary>Inputs per unit (W's row length).</summary>
    public int Inputs;

    /// <summary>Regularization strengths per sample.</summary>
    public float L1, L2;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, float value)
    {
        int at = row * Inputs + column;
        float w = Weights[at];
        Gradient[at] = value + L2 * w + L1 * (w > 0 ? 1f : w < 0 ? -1f : 0f);
    }
}

/// <summary>The hyperparameters of one optimizer update, as the update kernels read them.</summary>
/// <param name="StepSize">α (Adam: α·√(1−β₂ᵗ)/(1−β₁ᵗ), both bias corrections folded in).</param>
/// <param name="Beta1">Momentum's β, Adam's β₁, RMSprop's and AdaDelta's decay (1 for AdaGrad).</param>
/// <param name="Beta2">Adam's β₂.</param>
/// <param name="GradientScale">Momentum: 1 − β with dampening, else 1; RMSprop and AdaDelta: 1 − β; Adam: 1 − β₁; AdaGrad: 1.</param>
/// <param name="LookAhead">Nesterov's β (0 for plain momentum).</param>
/// <param name="Epsilon">Adam's ε·√(1−β₂ᵗ); the ε of AdaGrad, RMSprop and AdaDelta.</param>
/// <param name="Shrink">AdamW's 1 − α·λ (1 for Adam).</param>
/// <param name="SecondScale">Adam's 1 − β₂. Every 1 − β is formed in double and rounded once, as on the CPU.</param>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct UpdateRule(float StepSize, float Beta1, float Beta2, float GradientScale, float LookAhead, float Epsilon, float Shrink,
    float SecondScale = 0);

/// <summary>The kernels every generated network shares: the tiled product, bias gradients, losses, the regularization
/// penalty and the optimizer updates. Generated code supplies the per-layer epilogues.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class GpuKernels
{
    const int Side = GpuDevice.GroupSide;

    /// <summary>Rows and columns of C a group computes, and the depth of the operand slices it stages per step.</summary>
    public const int ProductTile = 4 * Side, ProductDepth = Side;

    /// <summary>C = op(A)·op(B). Each group of Side × Side threads computes a 64 × 64 tile of C, each thread a 4 × 4 block
    /// of it in registers (rows y + 16i, columns x + 16j, so neighbouring threads read neighbouring shared-memory words);
    /// per step along k the group stages a 64 × 16 slice of op(A) and a 16 × 64 slice of op(B) in shared memory (8 KB of
    /// the 48 KB a group may use), every thread loading four elements of each. With <see cref="ProductShape.DepthPerGroup"/>
    /// the grid's third dimension splits k (see <see cref="SumSplits"/>).</summary>
    public static void Product<TEpilogue>(ArrayView<float> a, ArrayView<float> b, ProductShape shape, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        var tileA = SharedMemory.Allocate<float>(ProductTile * ProductDepth); // [row, depth]
        var tileB = SharedMemory.Allocate<float>(ProductDepth * ProductTile); // [depth, column]
        int x = Group.IdxX, y = Group.IdxY, thread = y * Side + x;
        int firstRow = Grid.IdxY * ProductTile, firstColumn = Grid.IdxX * ProductTile;
        int depthPerGroup = shape.DepthPerGroup > 0 ? shape.DepthPerGroup : shape.K;
        int firstDepth = Grid.IdxZ * depthPerGroup, endDepth = XMath.Min(shape.K, firstDepth + depthPerGroup);
        Row4 c0 = default, c1 = default, c2 = default, c3 = default;
        for (int depth = firstDepth; depth < endDepth; depth += ProductDepth)
        {
            for (int q = 0; q < 4; q++)
            {
                int e = thread + q * Side * Side;
                int r = e / ProductDepth, p = e % ProductDepth, row = firstRow + r, pa = depth + p;
                tileA[e] = row < shape.M && pa < endDepth ? a[row * shape.ARowStride + pa * shape.ADepthStride] : 0f;
                int pb = e / ProductTile, column = e % ProductTile, gc = firstColumn + column, kb = depth + pb;
                tileB[e] = gc < shape.N && kb < endDepth ? b[kb * shape.BDepthStride + gc * shape.BColumnStride] : 0f;
            }
            Group.Barrier();
            for (int p = 0; p < ProductDepth; p++)
            {
                float b0 = tileB[p * ProductTile + x], b1 = tileB[p * ProductTile + x + Side];
                float b2 = tileB[p * ProductTile + x + 2 * Side], b3 = tileB[p * ProductTile + x + 3 * Side];
                c0.Add(tileA[y * ProductDepth + p], b0, b1, b2, b3);
                c1.Add(tileA[(y + Side) * ProductDepth + p], b0, b1, b2, b3);
                c2.Add(tileA[(y + 2 * Side) * ProductDepth + p], b0, b1, b2, b3);
                c3.Add(tileA[(y + 3 * Side) * ProductDepth + p], b0, b1, b2, b3);
            }
            Group.Barrier();
        }
        int rowOffset = Grid.IdxZ * shape.M;
        c0.Store(firstRow + y, firstColumn + x, shape, rowOffset, epilogue);
        c1.Store(firstRow + y + Side, firstColumn + x, shape, rowOffset, epilogue);
        c2.Store(firstRow + y + 2 * Side, firstColumn + x, shape, rowOffset, epilogue);
        c3.Store(firstRow + y + 3 * Side, firstColumn + x, shape, rowOffset, epilogue);
    }

    /// <summary>Finishes a split-K product: C[i, j] = Σ_z partials[z·M·N + i·N + j] to the epilogue, one thread per
    /// element, the splits added in order.</summary>
    public static void SumSplits<TEpilogue>(Index1D i, ArrayView<float> partials, int splits, int m, int n, TEpilogue epilogue)
        where TEpilogue : struct, IGpuEpilogue
    {
        float sum = 0;
        for (int z = 0; z < splits; z++) sum += partials[z * m * n + i];
        epilogue.Apply(i / n, i % n, sum);
    }

    /// <summary>One thread's four sums along a row of its block, columns x, x + 16, x + 32, x + 48.</summary>
    struct Row4
    {
        float c0, c1, c2, c3;

        public void Add(float a, float b0, float b1, float b2, float b3)
        {
            c0 += a * b0;
            c1 += a * b1;
            c2 += a * b2;
            c3 += a * b3;
        }

        public readonly void Store<TEpilogue>(int row, int column, ProductShape shape, int rowOffset, TEpilogue epilogue)
            where TEpilogue : struct, IGpuEpilogue
        {
            if (row >= shape.M) return;
            if (column < shape.N) epilogue.Apply(rowOffset + row, column, c0);
            if (column + Side < shape.N) epilogue.Apply(rowOffset + row, column + Side, c1);
            if (column + 2 * Side < shape.N) epilogue.Apply(rowOffset + row, column + 2 * Side, c2);
            if (column + 3 * Side < shape.N) epilogue.Apply(rowOffset + row, column + 3 * Side, c3);
        }
    }

    /// <summary>db[j] = Σ_rows dZ[row, j]: one thread per column.</summary>
    public static void ColumnSums(Index1D column, ArrayView<float> values, ArrayView<float> sums, int rows, int columns)
    {
        float sum = 0;
        for (int row = 0; row < rows; row++) sum += values[row * columns + column];
        sums[column] = sum;
    }

    /// <summary>Softmax cross-entropy of one sample (optionally label-smoothed): adds loss / batch to
    /// <paramref name="loss"/>[0] and writes the gradient with respect to the logits, (softmax − target) / batch.</summary>
    public static void SoftmaxCrossEntropy(Index1D sample, ArrayView<float> logits, ArrayView<float> targets, ArrayView<float> gradient,
        ArrayView<float> loss, int classes, float smoothing, float inverseBatch)
    {
        int start = sample * classes;
        float max = float.NegativeInfinity;
        for (int j = 0; j < classes; j++) max = XMath.Max(max, logits[start + j]);
        float sum = 0;
        for (int j = 0; j < classes; j++) sum += XMath.Exp(logits[start + j] - max);
        float logSum = max + XMath.Log(sum);
        float total = 0;
        for (int j = 0; j < classes; j++)
        {
            float target = targets[start + j] * (1 - smoothing) + smoothing / classes;
            float logProbability = logits[start + j] - logSum;
            if (target != 0) total -= target * logProbability;
            gradient[start + j] = (XMath.Exp(logProbability) - target) * inverseBatch;
        }
        AddLoss(loss, total * inverseBatch);
    }

    /// <summary>Squared error of one sample: adds Σ(ŷ − y)² / count to the loss and writes 2(ŷ − y) / count.</summary>
    public static void MeanSquaredError(Index1D sample, ArrayView<float> outputs, ArrayView<float> targets, ArrayView<float> gradient,
        ArrayView<float> loss, int width, float inverseCount)
    {
        float total = 0;
        for (int j = sample * width; j < (sample + 1) * width; j++)
        {
            float difference = outputs[j] - targets[j];
            total += difference * difference;
            gradient[j] = 2 * difference * inverseCount;
        }
        AddLoss(loss, total * inverseCount);
    }

    /// <summary>Binary cross-entropy of one sample on sigmoid outputs, clamped to [1e-7, 1 − 1e-7] as Keras does; the
    /// gradient (ŷ − y) / count is taken with respect to the sigmoid's input (the two are fused).</summary>
    public static void BinaryCrossEntropy(Index1D sample, ArrayView<float> outputs, ArrayView<float> targets, ArrayView<float> gradient,
        ArrayView<float> loss, int width, float smoothing, float inverseCount)
    {
        float total = 0;
        for (int j = sample * width; j < (sample + 1) * width; j++)
        {
            float a = outputs[j];
            float y = targets[j] * (1 - smoothing) + smoothing / 2;
            float clamped = XMath.Clamp(a, 1e-7f, 1 - 1e-7f);
            total -= y * XMath.Log(clamped) + (1 - y) * XMath.Log(1 - clamped);
            gradient[j] = (a - y) * inverseCount;
        }
        AddLoss(loss, total * inverseCount);
    }

    /// <summary>Where a loss kernel stores a non-finite sample loss, apart from the sum in element 0.</summary>
    public const int NonFiniteLoss = 4;

    /// <summary>Adds a sample's loss to <paramref name="scalars"/>[0]. ILGPU's CPU accelerator adds floats atomically with
    /// a compare-exchange loop that never ends on NaN (NaN ≠ NaN), so a non-finite value is stored apart instead.</summary>
    static void AddLoss(ArrayView<float> scalars, float value)
    {
        if (float.IsFinite(value)) Atomic.Add(ref scalars[0], value);
        else scalars[NonFiniteLoss] = value;
    }

    /// <summary>Adds Σ|w| to <paramref name="sums"/>[0] and Σw² to [1], for the regularization penalty. Non-finite
    /// weights are skipped (see <see cref="AddLoss"/>); the loss is non-finite then anyway.</summary>
    public static void PenaltySums(Index1D i, ArrayView<float> weights, ArrayView<float> sums)
    {
        float w = weights[i];
        if (!float.IsFinite(w)) return;
        Atomic.Add(ref sums[0], XMath.Abs(w));
        Atomic.Add(ref sums[1], w * w);
    }

    /// <summary>Sets <paramref name="flag"/>[0] to 1 when an element is NaN or infinite.</summary>
    public static void FlagNonFinite(Index1D i, ArrayView<float> values, ArrayView<float> flag)
    {
        if (!float.IsFinite(values[i])) flag[0] = 1f;
    }

    /// <summary>Plain gradient descent: θ ← θ − α·g.</summary>
    public static void Sgd(Index1D i, ArrayView<float> theta, ArrayView<float> gradient, UpdateRule rule) =>
        theta[i] -= rule.StepSize * gradient[i];

    /// <summary>Momentum and Nesterov: v ← βv + c·g; θ ← θ − α(v) or θ − α(g + βv).</summary>
    public static void Momentum(Index1D i, ArrayView<float> theta, ArrayView<float> gradient, ArrayView<float> velocity, UpdateRule rule)
    {
        float g = gradient[i];
        float v = rule.Beta1 * velocity[i] + rule.GradientScale * g;
        velocity[i] = v;
        float direction = rule.LookAhead == 0 ? v : g + rule.LookAhead * v;
        theta[i] -= rule.StepSize * direction;
    }

    /// <summary>AdaGrad and RMSprop: s ← decay·s + weight·g²; θ ← θ − α·g / (√s + ε) (AdaGrad: decay = weight = 1).</summary>
    public static void SquareAverage(Index1D i, ArrayView<float> theta, ArrayView<float> gradient, ArrayView<float> squares, UpdateRule rule)
    {
        float g = gradient[i];
        float s = rule.Beta1 * squares[i] + rule.GradientScale * (g * g);
        squares[i] = s;
        theta[i] -= rule.StepSize * (g / (XMath.Sqrt(s) + rule.Epsilon));
    }

    /// <summary>AdaDelta: s ← ρs + (1−ρ)g²; Δ = √(u + ε)/√(s + ε)·g; u ← ρu + (1−ρ)Δ²; θ ← θ − α·Δ.</summary>
    public static void AdaDelta(Index1D i, ArrayView<float> theta, ArrayView<float> gradient, ArrayView<float> squares, ArrayView<float> updates,
        UpdateRule rule)
    {
        float g = gradient[i], rho = rule.Beta1, rest = rule.GradientScale;
        float s = rho * squares[i] + rest * (g * g);
        float u = updates[i];
        float delta = XMath.Sqrt(u + rule.Epsilon) / XMath.Sqrt(s + rule.Epsilon) * g;
        squares[i] = s;
        updates[i] = rho * u + rest * (delta * delta);
        theta[i] -= rule.StepSize * delta;
    }

    /// <summary>Adam and AdamW with both bias corrections folded into the step size and ε.</summary>
    public static void Adam(Index1D i, ArrayView<float> theta, ArrayView<float> gradient, ArrayView<float> first, ArrayView<float> second,
        UpdateRule rule)
    {
        float g = gradient[i];
        float m = rule.Beta1 * first[i] + rule.GradientScale * g;
        float v = rule.Beta2 * second[i] + rule.SecondScale * (g * g);
        first[i] = m;
        second[i] = v;
        theta[i] = rule.Shrink * theta[i] - rule.StepSize * (m / (XMath.Sqrt(v) + rule.Epsilon));
    }
}
