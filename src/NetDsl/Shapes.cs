using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.ComponentModel;

namespace NetDsl;

/// <summary>Argument checks with messages that name both shapes.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Shapes
{
    /// <summary>How many values a tensor of this shape holds: the product of its dimensions. Indexed, not enumerated,
    /// so that per-step callers (a tensor's length in the regularization penalty) allocate nothing.</summary>
    public static int Count(IReadOnlyList<int> shape)
    {
        int count = 1;
        for (int i = 0; i < shape.Count; i++) count = checked(count * shape[i]);
        return count;
    }

    /// <summary>Formats a shape as <c>(a, b, c)</c>.</summary>
    public static string Format(IEnumerable<int> shape) => "(" + string.Join(", ", shape) + ")";

    /// <summary>The batch size implied by a buffer of <paramref name="length"/> values of <paramref name="width"/>
    /// per sample; throws when the length is not a positive multiple.</summary>
    public static int BatchSize(int length, int width, string sampleShape, string parameterName)
    {
        if (length == 0 || length % width != 0)
            throw new ArgumentException(
                $"{parameterName} holds {length} values, which is not a whole number of samples of shape {sampleShape} ({width} values each).",
                parameterName);
        return length / width;
    }

    /// <summary>Throws when a buffer does not hold exactly <paramref name="expected"/> values.</summary>
    public static void RequireLength(int length, int expected, string expectedShape, string parameterName)
    {
        if (length != expected)
            throw new ArgumentException(
                $"{parameterName} holds {length} values but shape {expectedShape} needs {expected}.", parameterName);
    }

    /// <summary>Throws when a batch buffer does not hold <paramref name="batch"/> samples of <paramref name="width"/> values;
    /// the message is built only on failure, so the check allocates nothing.</summary>
    public static void RequireBatchLength(int length, int batch, int width, string parameterName)
    {
        if (length != batch * width)
            throw new ArgumentException(
                $"{parameterName} holds {length} values but {batch} samples of shape ({width}) need {batch * width}.", parameterName);
    }

    /// <summary>Throws when the samples of <paramref name="data"/> are not as wide as the network's input, naming the input
    /// layer and both shapes (a batch of the wrong width would otherwise split into a different number of samples and
    /// fail later on the targets).</summary>
    public static void RequireSamples(INeuralNetwork network, Data.Dataset data, string parameterName)
    {
        if (data.FeatureSize == network.InputSize) return;
        var input = network.Layers[0];
        throw new ArgumentException(
            $"{network.Name}'s input '{input.Name}' takes {network.InputSize} values per sample, shape {input.ShapeText}, but the samples of " +
            $"{parameterName} hold {data.FeatureSize}, shape {Format(data.SampleShape)}.", parameterName);
    }

    /// <summary>Whether any value is NaN or ±∞.</summary>
    /// <remarks>Every training step checks all of dθ with it, so it runs four vectors at a time: a value is NaN or ±∞
    /// exactly when its exponent bits are all ones.</remarks>
    public static bool HasNonFinite(ReadOnlySpan<float> values)
    {
        const uint exponentBits = 0x7F80_0000;
        ref uint bits = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(values));
        int i = 0, n = values.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            var exponent = Vector512.Create(exponentBits);
            for (; i <= n - 4 * Vector512<uint>.Count; i += 4 * Vector512<uint>.Count)
            {
                var found = Vector512.Equals(Vector512.LoadUnsafe(ref bits, (nuint)i) & exponent, exponent)
                    | Vector512.Equals(Vector512.LoadUnsafe(ref bits, (nuint)(i + 16)) & exponent, exponent)
                    | Vector512.Equals(Vector512.LoadUnsafe(ref bits, (nuint)(i + 32)) & exponent, exponent)
                    | Vector512.Equals(Vector512.LoadUnsafe(ref bits, (nuint)(i + 48)) & exponent, exponent);
                if (found != Vector512<uint>.Zero) return true;
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var exponent = Vector256.Create(exponentBits);
            for (; i <= n - Vector256<uint>.Count; i += Vector256<uint>.Count)
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref bits, (nuint)i) & exponent, exponent)) return true;
        }
        for (; i < n; i++)
            if ((Unsafe.Add(ref bits, i) & exponentBits) == exponentBits) return true;
        return false;
    }

    /// <summary>A byte count for people: B, KiB, MiB or GiB with up to two decimals.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.##} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.##} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.##} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
