using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Pinned arrays used from a 64-byte boundary: a 512-bit load that straddles two cache lines costs two, and an
/// array's data otherwise starts wherever the allocator put it. Pinned arrays never move, so the boundary found once
/// stays where it is.</summary>
internal static unsafe class AlignedArray
{
    const int Alignment = 64;

    /// <summary>A pinned array with room for <paramref name="length"/> values from its first 64-byte boundary (see
    /// <see cref="Start"/>), zeroed unless <paramref name="uninitialized"/>.</summary>
    public static T[] Allocate<T>(int length, bool uninitialized = false) where T : unmanaged
    {
        int slack = Alignment / Unsafe.SizeOf<T>();
        return uninitialized
            ? GC.AllocateUninitializedArray<T>(length + slack, pinned: true)
            : GC.AllocateArray<T>(length + slack, pinned: true);
    }

    /// <summary>The index of <paramref name="array"/>'s first value on a 64-byte boundary.</summary>
    public static int Start<T>(T[] array) where T : unmanaged
    {
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (int)((Alignment - address % Alignment) % Alignment) / Unsafe.SizeOf<T>();
    }
}

/// <summary>A network's buffer of per-sample values for a whole batch (a layer's outputs, activations, masks or
/// gradients), starting on a 64-byte boundary. A row whose width is a multiple of 16 floats then starts on a cache line
/// too, so the products' vector loads do not straddle lines and <see cref="Arithmetic.Store{T}"/> can stream whole
/// lines of an output too large for the caches.</summary>
/// <remarks>The generated networks allocate one per buffer when the batch capacity grows, never per step.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class AlignedBuffer<T> where T : unmanaged
{
    readonly T[] values;
    readonly int start;

    /// <summary>A zeroed buffer of <paramref name="length"/> values.</summary>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        values = AlignedArray.Allocate<T>(length);
        start = AlignedArray.Start(values);
        Length = length;
    }

    /// <summary>How many values the buffer holds.</summary>
    public int Length { get; }

    /// <summary>The whole buffer.</summary>
    public Span<T> AsSpan() => values.AsSpan(start, Length);

    /// <summary>Values [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>).</summary>
    public Span<T> AsSpan(int offset, int length) => AsSpan().Slice(offset, length);
}
