using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

// The product's per-thread scratch.
public static unsafe partial class Gemm
{
    /// <summary>Per-thread scratch: the packed panels of A and B, and the row tiles' running sums while a long inner
    /// dimension is walked in depth blocks. Each grows to the largest product seen on its thread, then every later
    /// product reuses it: no allocation per step. Each starts on a 64-byte boundary (<see cref="AlignedArray"/>).</summary>
    static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] static T[]? packed, packedA, sums;

        public static Span<T> Packed(int length) => Get(ref packed, length);

        public static Span<T> PackedA(int length) => Get(ref packedA, length);

        public static Span<T> Sums(int length) => Get(ref sums, length);

        static Span<T> Get(ref T[]? buffer, int length)
        {
            if (buffer is null || buffer.Length - AlignedArray.Start(buffer) < length)
                buffer = AlignedArray.Allocate<T>(length, uninitialized: true);
            return buffer.AsSpan(AlignedArray.Start(buffer), length);
        }
    }
}
