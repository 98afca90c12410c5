using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace FashionMnist;

/// <summary>Writes 8-bit grayscale PNG files (signature, IHDR, one zlib-compressed IDAT, IEND; each chunk with its CRC-32).</summary>
static class Png
{
    static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>Writes <paramref name="pixels"/> (row-major, 0 black to 255 white) as a <paramref name="width"/> ×
    /// <paramref name="height"/> image.</summary>
    public static void WriteGray(string path, byte[] pixels, int width, int height)
    {
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth; colour type 0 (grayscale), compression 0, filter 0, no interlace
        Chunk(file, "IHDR", header);
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0); // each row with filter type 0
                zlib.Write(pixels, y * width, width);
            }
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    static void Chunk(Stream file, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        file.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        file.Write(typeBytes);
        file.Write(data);
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in typeBytes.Concat(data)) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        BinaryPrimitives.WriteUInt32BigEndian(word, ~crc);
        file.Write(word);
    }

    /// <summary>Lays out <paramref name="tiles"/> images of <paramref name="side"/> × <paramref name="side"/> values in a grid
    /// of <paramref name="columns"/>, each scaled from its own minimum (black) to maximum (white), with a 1-pixel gap.</summary>
    public static void WriteGrid(string path, IReadOnlyList<float[]> tiles, int side, int columns)
    {
        int rows = (tiles.Count + columns - 1) / columns, width = columns * (side + 1) + 1, height = rows * (side + 1) + 1;
        var pixels = new byte[width * height];
        Array.Fill(pixels, (byte)128);
        for (int t = 0; t < tiles.Count; t++)
        {
            float low = tiles[t].Min(), high = tiles[t].Max(), range = Math.Max(high - low, 1e-12f);
            int left = 1 + t % columns * (side + 1), top = 1 + t / columns * (side + 1);
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                    pixels[(top + y) * width + left + x] = (byte)Math.Round(255 * (tiles[t][y * side + x] - low) / range);
        }
        WriteGray(path, pixels, width, height);
    }
}
