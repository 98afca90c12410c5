namespace NetDsl.Training;

/// <summary>L1, L2 or both (elastic net) on the weights marked for decay (Dense and convolution weights; never biases,
/// BatchNorm or PReLU parameters). For a batch of m samples the loss gains (λ₁/m)·Σ|w| + (λ₂/2m)·Σw², and the weight
/// gradient (λ₁/m)·sign(w) + (λ₂/m)·w, added in the same pass that forms dW.</summary>
public readonly record struct Regularization
{
    /// <summary>Creates a penalty; both strengths must be finite and ≥ 0.</summary>
    public Regularization(double l1 = 0, double l2 = 0)
    {
        L1 = l1 >= 0 && double.IsFinite(l1) ? l1 : throw new ArgumentOutOfRangeException(nameof(l1), l1, "λ₁ must be a finite number ≥ 0.");
        L2 = l2 >= 0 && double.IsFinite(l2) ? l2 : throw new ArgumentOutOfRangeException(nameof(l2), l2, "λ₂ must be a finite number ≥ 0.");
    }

    /// <summary>λ₁, the L1 (lasso) strength.</summary>
    public double L1 { get; }

    /// <summary>λ₂, the L2 (ridge, weight decay) strength.</summary>
    public double L2 { get; }

    /// <summary>No penalty.</summary>
    public static Regularization None => default;

    /// <summary>L2 only.</summary>
    public static Regularization Ridge(double lambda) => new(0, lambda);

    /// <summary>L1 only.</summary>
    public static Regularization Lasso(double lambda) => new(lambda, 0);

    /// <summary>Both.</summary>
    public static Regularization ElasticNet(double l1, double l2) => new(l1, l2);

    /// <summary>Whether there is any penalty.</summary>
    public bool IsActive => L1 != 0 || L2 != 0;

    /// <summary>The loss term for θ and a batch of <paramref name="batch"/> samples.</summary>
    public double Penalty<T>(ReadOnlySpan<T> parameters, IReadOnlyList<ParameterTensor> tensors, int batch)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (!IsActive) return 0;
        double absolute = 0, squares = 0;
        // Indexed, not foreach: enumerating an IReadOnlyList allocates, and this runs every training step.
        for (int t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            if (!tensor.WeightDecay) continue;
            foreach (var value in parameters.Slice(tensor.Offset, tensor.Length))
            {
                double w = double.CreateTruncating(value);
                absolute += Math.Abs(w);
                squares += w * w;
            }
        }
        return (L1 * absolute + L2 * squares / 2) / batch;
    }
}
