using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>A Dense layer's weights in 8 bits for inference: each unit's row scaled by its own factor
/// (<c>w ≈ scale · q</c>, q in [−127, 127], the row's largest magnitude at ±127), stored for the int8 product as
/// [input / 4][unit][4] — four consecutive inputs of sixteen units fill one 64-byte line, which is what one
/// multiply-add of unsigned by signed bytes consumes.</summary>
/// <remarks>Units are padded to a multiple of 16 and inputs to a multiple of 4 with zero weights. Each unit also keeps
/// the sum of its quantized weights, which removes the inputs' zero point from the integer sums. A non-finite weight
/// makes its unit's scale NaN, so that unit's outputs are NaN as they would be in float.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed unsafe class QuantizedDense : DenseWeightsCopy
{
    internal int PaddedInputs { get; }
    readonly AlignedBuffer<sbyte> packed;
    internal readonly float[] Scales;
    internal readonly int[] WeightSums;

    /// <summary>Space for a layer of <paramref name="units"/> × <paramref name="inputs"/> weights; fill it with
    /// <see cref="Quantize"/>.</summary>
    public QuantizedDense(int units, int inputs) : base(units, inputs)
    {
        PaddedInputs = (inputs + 3) / 4 * 4;
        // 64-byte aligned: every 512-bit load of a line of weights then reads exactly one cache line.
        packed = new AlignedBuffer<sbyte>(PaddedUnits * PaddedInputs);
        Scales = new float[PaddedUnits];
        WeightSums = new int[PaddedUnits];
    }

    internal ref sbyte Packed => ref MemoryMarshal.GetReference(packed.AsSpan());

    /// <summary>Quantizes <paramref name="weights"/>, stored [units, inputs] row-major as a Dense layer keeps them.</summary>
    public void Quantize(ReadOnlySpan<float> weights)
    {
        RequireShape(weights);
        var values = packed.AsSpan();
        values.Clear();
        for (int unit = 0; unit < Units; unit++)
        {
            var row = weights.Slice(unit * Inputs, Inputs);
            float largest = 0;
            bool finite = true;
            foreach (float w in row)
            {
                finite &= float.IsFinite(w);
                largest = MathF.Max(largest, MathF.Abs(w));
            }
            float scale = !finite ? float.NaN : largest / 127f;
            int sum = 0;
            if (finite && largest > 0)
            {
                for (int input = 0; input < Inputs; input++)
                {
                    int q = Math.Clamp((int)MathF.Round(row[input] / scale), -127, 127);
                    values[At(unit, input)] = (sbyte)q;
                    sum += q;
                }
            }
            Scales[unit] = scale;
            WeightSums[unit] = sum;
        }
    }

    /// <summary>The quantized weight of <paramref name="unit"/> for <paramref name="input"/>; times
    /// <see cref="Scale"/> it approximates the float weight to within half a scale.</summary>
    public int Weight(int unit, int input) => packed.AsSpan()[At(unit, input)];

    /// <summary>The factor of <paramref name="unit"/>'s quantized weights.</summary>
    public float Scale(int unit) => Scales[unit];

    int At(int unit, int input) => ((input >> 2) * PaddedUnits + unit) * 4 + (input & 3);
}
