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

/// <summary>Adds a product, plus a bias per row, onto what a buffer of <paramref name="width"/> columns holds: a
/// projected skip connection added to the main path's output.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public ref struct AccumulateEpilogue<T>(Span<T> destination, int width, ReadOnlySpan<T> bias) : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Span<T> destination = destination;
    readonly ReadOnlySpan<T> bias = bias;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, scoped Span<T> values)
    {
        Arithmetic.AddScalar(values, bias[row]);
        Arithmetic.Add(destination.Slice(row * width + column, values.Length), values);
    }
}

/// <summary>Adds a shift per row (a channel's), then a ReLU where <paramref name="relu"/>, and stores into a buffer of
/// <paramref name="width"/> columns: a convolution with its BatchNorm folded in, at inference.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public ref struct ChannelShiftEpilogue<T>(Span<T> destination, int width, ReadOnlySpan<T> shift, bool relu) : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Span<T> destination = destination;
    readonly ReadOnlySpan<T> shift = shift;

    /// <inheritdoc />
    public readonly void Apply(int row, int column, scoped Span<T> values)
    {
        Arithmetic.AddScalar(values, shift[row]);
        if (relu) Activations.ReLU(values);
        Arithmetic.Store<T>(values, destination, row * width + column);
    }
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
