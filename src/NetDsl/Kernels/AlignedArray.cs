using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
