using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>A Dense layer's weights copied into the layout a prediction's product reads (<see cref="QuantizedDense"/>,
/// <see cref="InputMajorDense"/>): the layer's shape, units padded to a multiple of 16, and the check of the weights
/// it is filled from.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class DenseWeightsCopy
{
    /// <summary>Units are padded to a multiple of this with zero weights, so every vector of units is whole.</summary>
    protected const int UnitBlock = 16;

    /// <summary>Units (rows of the float weight matrix).</summary>
    public int Units { get; }

    /// <summary>Inputs per unit (columns of the float weight matrix).</summary>
    public int Inputs { get; }

    internal int PaddedUnits { get; }

    /// <summary>A copy of a layer of <paramref name="units"/> × <paramref name="inputs"/> weights.</summary>
    protected DenseWeightsCopy(int units, int inputs)
    {
        if (units <= 0 || inputs <= 0)
            throw new ArgumentOutOfRangeException(nameof(units), $"A layer needs positive sizes, got {units} units × {inputs} inputs.");
        Units = units;
        Inputs = inputs;
        PaddedUnits = (units + UnitBlock - 1) / UnitBlock * UnitBlock;
    }

    /// <summary>Throws unless the batch is positive and the inputs (of length <paramref name="inputsLength"/>) hold
    /// <paramref name="batch"/> rows for this layer.</summary>
    internal void RequireBatch(int inputsLength, int batch)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), $"The batch must be positive, got {batch}.");
        if (inputsLength < batch * Inputs)
            throw new ArgumentException($"The inputs hold {inputsLength} values but a batch of {batch} × ({Inputs}) needs {batch * Inputs}.", "inputs");
    }

    /// <summary>Throws unless <paramref name="weights"/> holds the layer's [units, inputs] values.</summary>
    protected void RequireShape(ReadOnlySpan<float> weights)
    {
        if (weights.Length != Units * Inputs)
            throw new ArgumentException($"The weights hold {weights.Length} values but a layer of shape ({Units}, {Inputs}) needs {Units * Inputs}.", nameof(weights));
    }
}
