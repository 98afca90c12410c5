using System.Globalization;

namespace NetDsl;

/// <summary>Argument checks with messages that name both shapes.</summary>
public static class Shapes
{
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

    /// <summary>Whether any value is NaN or ±∞.</summary>
    public static bool HasNonFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
            if (!float.IsFinite(v)) return true;
        return false;
    }

    internal static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.##} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.##} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.##} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
