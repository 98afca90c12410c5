using System.Buffers.Binary;
using System.IO.Compression;

namespace NetDsl.Data;

/// <summary>The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed: a big-endian magic number
/// (0x00 0x00 type rank), one 32-bit big-endian size per dimension, then the values. Only unsigned bytes (type 0x08)
/// are read, as every MNIST-family file uses.</summary>
public static class IdxFile
{
    /// <summary>Reads a whole IDX file; the error names the file and what is wrong with it.</summary>
    public static (int[] Shape, byte[] Values) Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
            if (bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
            {
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var inflated = new MemoryStream();
                gzip.CopyTo(inflated);
                // A truncated stream inflates without complaint up to where it stops; the trailer's last 4 bytes hold
                // the inflated size mod 2³², which a cut file does not end with.
                uint trailerSize = bytes.Length >= 18 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)) : 0;
                if (bytes.Length < 18 || trailerSize != (uint)inflated.Length)
                    throw new InvalidDataException($"{path}: the gzip stream is truncated or corrupt: it inflates to {inflated.Length} bytes " +
                        $"but its trailer says {trailerSize}.");
                bytes = inflated.ToArray();
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: the gzip stream is corrupt ({e.Message}).", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses IDX bytes already in memory; <paramref name="source"/> names them in errors.</summary>
    public static (int[] Shape, byte[] Values) Parse(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 4)
            throw new InvalidDataException($"{source}: {bytes.Length} bytes is too short for an IDX header (4 bytes of magic number).");
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new InvalidDataException($"{source}: not an IDX file (magic number starts 0x{bytes[0]:X2} 0x{bytes[1]:X2}, expected 0x00 0x00).");
        if (bytes[2] != 0x08)
            throw new InvalidDataException($"{source}: IDX element type 0x{bytes[2]:X2} is not supported; only unsigned bytes (0x08) are.");
        int rank = bytes[3];
        if (rank == 0)
            throw new InvalidDataException($"{source}: the IDX header declares rank 0.");
        int header = 4 + 4 * rank;
        if (bytes.Length < header)
            throw new InvalidDataException($"{source}: truncated header: rank {rank} needs {header} bytes, the file has {bytes.Length}.");
        var shape = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(4 + 4 * d));
            if (size == 0 || size > int.MaxValue)
                throw new InvalidDataException($"{source}: dimension {d} has size {size}.");
            shape[d] = (int)size;
            count *= size;
        }
        if (bytes.Length - header != count)
            throw new InvalidDataException(
                $"{source}: shape {Shapes.Format(shape)} needs {count} values after the {header}-byte header, but {bytes.Length - header} bytes follow.");
        return (shape, bytes.Slice(header).ToArray());
    }

    /// <summary>Writes an IDX file of unsigned bytes (gzip-compressed when the path ends in .gz).</summary>
    public static void Write(string path, ReadOnlySpan<int> shape, ReadOnlySpan<byte> values)
    {
        using var file = File.Create(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(file, CompressionLevel.SmallestSize) : file;
        Span<byte> word = stackalloc byte[4];
        stream.Write([0, 0, 0x08, (byte)shape.Length]);
        foreach (int size in shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, size);
            stream.Write(word);
        }
        stream.Write(values);
    }
}
