using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NetDsl.Training;

/// <summary>The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
/// shape and byte range (and string metadata), then the raw little-endian data. Writing goes through a temporary file
/// of its own and a rename; reading checks the header as the format requires: every entry a tensor with a dtype, a shape
/// and data offsets that hold exactly its values and together tile the data with no gap or overlap.</summary>
internal sealed class SafetensorsFile
{
    /// <summary>One tensor entry: its dtype, shape, element count and byte range within the data.</summary>
    public sealed record Entry(string Dtype, int[] Shape, long Count, long Begin, long End);

    readonly byte[] bytes;
    readonly int dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, Entry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafetensorsFile(string path, byte[] bytes, int dataStart, Dictionary<string, Entry> entries, Dictionary<string, string> metadata) =>
        (Path, this.bytes, this.dataStart, Entries, Metadata) = (path, bytes, dataStart, entries, metadata);

    public static InvalidDataException Corrupt(string path, string problem) => new($"{path}: not a usable checkpoint: {problem}.");

    /// <summary>Writes the tensors (name, dtype, shape, little-endian bytes) and metadata to a temporary file beside
    /// <paramref name="path"/>; returns it for <see cref="Commit"/>.</summary>
    public static string WriteTemporary(string path, IEnumerable<(string Name, string Dtype, int[] Shape, byte[] Data)> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject(metadata.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))) };
        long offset = 0;
        var data = new List<byte[]>();
        foreach (var (name, dtype, shape, values) in tensors)
        {
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + values.Length),
            };
            offset += values.Length;
            data.Add(values);
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        // The header is padded with spaces to a multiple of 8 so the data that follows is aligned.
        int padded = (json.Length + 7) / 8 * 8;
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        using var file = File.Create(temporary);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        file.Write(length);
        file.Write(json);
        for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
        foreach (var values in data) file.Write(values);
        return temporary;
    }

    /// <summary>Renames a written temporary file over <paramref name="path"/>: a reader sees the old file or the new one
    /// whole, never a half, and two saves to one path each replace it whole.</summary>
    public static void Commit(string temporary, string path) => File.Move(temporary, path, overwrite: true);

    /// <summary>Reads and checks a file; every problem names the file and what is wrong.</summary>
    public static SafetensorsFile Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw Corrupt(path, $"{bytes.Length} bytes is too short for the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8)) throw Corrupt(path, $"the header claims {headerLength} bytes but only {bytes.Length - 8} follow");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(bytes.AsSpan(8, (int)headerLength));
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"the header is not valid JSON ({e.Message})");
        }
        if (root is not JsonObject header) throw Corrupt(path, $"the header is {Describe(root)}, not a JSON object");
        int dataStart = 8 + (int)headerLength;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (header["__metadata__"] is JsonObject declared)
            foreach (var (key, value) in declared)
                if (value is JsonValue text && text.TryGetValue(out string? s)) metadata[key] = s;
        return new SafetensorsFile(path, bytes, dataStart, ReadEntries(path, header, bytes.Length - dataStart), metadata);
    }

    /// <summary>A tensor as floats, from F32, F64, F16 or BF16 (PyTorch's half-precision weights load too).</summary>
    public float[] Floats(string name, Entry entry)
    {
        var source = bytes.AsSpan(dataStart + (int)entry.Begin, (int)(entry.End - entry.Begin));
        var values = new float[entry.Count];
        for (int i = 0; i < values.Length; i++)
            values[i] = entry.Dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(source.Slice(i * 4)),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(source.Slice(i * 8)),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(source.Slice(i * 2)),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(i * 2)) << 16),
                _ => throw Corrupt(Path, $"tensor '{name}' has dtype {entry.Dtype}; weights load from F32, F64, F16 or BF16"),
            };
        return values;
    }

    static Dictionary<string, Entry> ReadEntries(string path, JsonObject header, long dataLength)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            if (node is not JsonObject entry) throw Corrupt(path, $"entry '{name}' is {Describe(node)}, not a tensor object");
            string dtype = entry["dtype"] is JsonValue dtypeValue && dtypeValue.TryGetValue(out string? text) ? text
                : throw Corrupt(path, $"tensor '{name}' has dtype {Describe(entry["dtype"])}, not a string such as \"F32\"");
            var shape = Integers(path, name, "shape", entry["shape"], count: null);
            var offsets = Integers(path, name, "data_offsets", entry["data_offsets"], count: 2);
            int width = dtype switch { "F64" or "I64" or "U64" => 8, "F32" or "I32" or "U32" => 4, "F16" or "BF16" or "I16" or "U16" => 2, _ => 1 };
            if (shape.Any(d => d > int.MaxValue))
                throw Corrupt(path, $"tensor '{name}' has shape {Describe(entry["shape"])}, with a dimension beyond {int.MaxValue}, the most an array holds");
            long count = ElementCount(shape) ?? throw Corrupt(path, $"tensor '{name}' has shape {Describe(entry["shape"])}, whose element count overflows a 64-bit integer");
            if (offsets[1] < offsets[0] || offsets[1] > dataLength || (offsets[1] - offsets[0]) % width != 0 || (offsets[1] - offsets[0]) / width != count)
                throw Corrupt(path, $"tensor '{name}' has data offsets [{offsets[0]}, {offsets[1]}] that do not hold {count} {dtype} values inside the {dataLength} bytes of data");
            entries[name] = new Entry(dtype, shape.Select(d => (int)d).ToArray(), count, offsets[0], offsets[1]);
        }
        long end = 0;
        foreach (var (name, entry) in entries.OrderBy(e => e.Value.Begin).ThenBy(e => e.Value.End))
        {
            if (entry.Begin != end)
                throw Corrupt(path, entry.Begin < end
                    ? $"tensor '{name}' at bytes [{entry.Begin}, {entry.End}) overlaps the tensor before it, which ends at {end}"
                    : $"bytes [{end}, {entry.Begin}) of the data belong to no tensor");
            end = entry.End;
        }
        if (end != dataLength) throw Corrupt(path, $"bytes [{end}, {dataLength}) of the data belong to no tensor");
        return entries;
    }

    static long[] Integers(string path, string tensor, string field, JsonNode? node, int? count)
    {
        if (node is not JsonArray array || (count is { } expected && array.Count != expected))
            throw Corrupt(path, $"tensor '{tensor}' has {field} {Describe(node)}, not an array of {(count is null ? "" : count + " ")}non-negative integers");
        var values = new long[array.Count];
        for (int i = 0; i < values.Length; i++)
            if (!(array[i] is JsonValue value && value.TryGetValue(out long integer) && integer >= 0))
                throw Corrupt(path, $"tensor '{tensor}' has {field} {Describe(node)}, not an array of {(count is null ? "" : count + " ")}non-negative integers");
            else values[i] = integer;
        return values;
    }

    /// <summary>The product of the dimensions; null when it overflows (a shape with a zero dimension holds nothing).</summary>
    static long? ElementCount(long[] shape)
    {
        if (shape.Contains(0)) return 0;
        long count = 1;
        foreach (long d in shape)
            if (count > long.MaxValue / d) return null;
            else count *= d;
        return count;
    }

    static string Describe(JsonNode? node) => node is null ? "missing or null" : node.ToJsonString();
}
