using System.Numerics;

namespace NetDsl.Kernels;

/// <summary>Vectorized activation functions and their backward steps, in place. The backward steps take the
/// activation's output <c>a</c>, from which each derivative follows: ReLU′ = [a &gt; 0], σ′ = a(1 − a), tanh′ = 1 − a².</summary>
public static class Activations
{
    /// <summary>values ← max(0, values).</summary>
    public static void ReLU<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, ReLUForward>(values);

    /// <summary>gradient ← gradient ⊙ [output &gt; 0].</summary>
    public static void ReLUBackward<T>(Span<T> gradient, ReadOnlySpan<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, ReLUDerivative>(gradient, output);

    /// <summary>values ← 1 / (1 + e^(−values)).</summary>
    public static void Sigmoid<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, SigmoidForward>(values);

    /// <summary>gradient ← gradient ⊙ output ⊙ (1 − output).</summary>
    public static void SigmoidBackward<T>(Span<T> gradient, ReadOnlySpan<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, SigmoidDerivative>(gradient, output);

    /// <summary>values ← tanh(values).</summary>
    public static void Tanh<T>(Span<T> values) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, TanhForward>(values);

    /// <summary>gradient ← gradient ⊙ (1 − output²).</summary>
    public static void TanhBackward<T>(Span<T> gradient, ReadOnlySpan<T> output) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, TanhDerivative>(gradient, output);

    /// <summary>Softmax of each row of <paramref name="width"/> values, shifted by the row maximum so exp cannot overflow.</summary>
    public static void SoftmaxRows<T>(Span<T> values, int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int start = 0; start < values.Length; start += width)
        {
            var row = values.Slice(start, width);
            T max = row[0];
            foreach (var v in row) max = T.Max(max, v);
            T sum = T.Zero;
            for (int j = 0; j < width; j++) sum += row[j] = T.Exp(row[j] - max);
            T inverse = T.One / sum;
            for (int j = 0; j < width; j++) row[j] *= inverse;
        }
    }

    /// <summary>Softmax backward per row: dz = y ⊙ (da − Σⱼ daⱼ yⱼ), with y the softmax output.</summary>
    public static void SoftmaxRowsBackward<T>(Span<T> gradient, ReadOnlySpan<T> output, int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int start = 0; start < gradient.Length; start += width)
        {
            var g = gradient.Slice(start, width);
            var y = output.Slice(start, width);
            T dot = T.Zero;
            for (int j = 0; j < width; j++) dot += g[j] * y[j];
            for (int j = 0; j < width; j++) g[j] = y[j] * (g[j] - dot);
        }
    }

    readonly struct ReLUForward : IUnaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Max(x, TS.Zero);
    }

    readonly struct ReLUDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.WherePositive(output, gradient);
    }

    readonly struct SigmoidForward : IUnaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV>
        {
            var one = TS.Broadcast(T.One);
            return TS.Divide(one, TS.Add(one, TS.Exp(TS.Subtract(TS.Zero, x))));
        }
    }

    readonly struct SigmoidDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Multiply(gradient, TS.Multiply(output, TS.Subtract(TS.Broadcast(T.One), output)));
    }

    readonly struct TanhForward : IUnaryOperator
    {
        // tanh(x) = 1 − 2 / (e^(2x) + 1): saturates cleanly to ±1 when e^(2x) overflows to ∞ or underflows to 0.
        public static TV Apply<T, TV, TS>(TV x) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV>
        {
            var one = TS.Broadcast(T.One);
            var two = TS.Broadcast(T.One + T.One);
            return TS.Subtract(one, TS.Divide(two, TS.Add(TS.Exp(TS.Multiply(two, x)), one)));
        }
    }

    readonly struct TanhDerivative : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV gradient, TV output) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Multiply(gradient, TS.Subtract(TS.Broadcast(T.One), TS.Multiply(output, output)));
    }
}

/// <summary>Vectorized elementwise arithmetic used by the generated epilogues.</summary>
public static class Arithmetic
{
    /// <summary>values ← values + addend (elementwise; the bias segment of a row tile).</summary>
    public static void Add<T>(Span<T> values, ReadOnlySpan<T> addend) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, AddOperator>(values, addend);

    /// <summary>values ← values ⊙ factors (a dropout mask).</summary>
    public static void Multiply<T>(Span<T> values, ReadOnlySpan<T> factors) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Combine<T, MultiplyOperator>(values, factors);

    readonly struct AddOperator : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV y) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Add(x, y);
    }

    readonly struct MultiplyOperator : IBinaryOperator
    {
        public static TV Apply<T, TV, TS>(TV x, TV y) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct where TS : ISimd<T, TV> =>
            TS.Multiply(x, y);
    }
}
