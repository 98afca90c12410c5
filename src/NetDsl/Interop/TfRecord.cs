using System.Buffers.Binary;
using System.Numerics;

namespace NetDsl.Interop;

/// <summary>TensorFlow's record framing, which TensorBoard's event files use: the payload's length as a little-endian
/// uint64, the masked CRC-32C of those eight bytes, the payload, and the payload's masked CRC-32C. The mask rotates the
/// checksum and adds a constant so that a CRC stored inside checksummed data does not checksum to a fixed value.</summary>
internal static class TfRecord
{
    const uint MaskDelta = 0xA282EAD8;

    public static void Write(Stream stream, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc(header[..8]));
        stream.Write(header);
        stream.Write(payload);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc(payload));
        stream.Write(footer);
    }

    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + MaskDelta;
    }

    /// <summary>CRC-32C (Castagnoli), as iSCSI and TensorFlow define it: the register starts at all ones and the result is
    /// inverted. <see cref="BitOperations.Crc32C(uint, ulong)"/> is the bare update step (SSE4.2's crc32 where present).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8) crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++) crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }
}
