using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetDsl.Optimizers;

namespace NetDsl.Training;

/// <summary>Checkpoints in the safetensors format, which PyTorch reads (<c>safetensors.torch.load_file</c>): an 8-byte
/// little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
/// little-endian F32 data. θ is saved under PyTorch's names (<c>Hidden1.weight</c>, <c>Norm1.running_mean</c>); the
/// optimizer's state vectors as <c>optimizer.state0.{name}</c> and <c>optimizer.state1.{name}</c>; the epoch, the
/// optimizer's step count and the network's name in the header's metadata.</summary>
public static class Checkpoint
{
    /// <summary>Writes θ, the running statistics and, when given, the optimizer's state and the epoch.</summary>
    public static void Save(string path, INeuralNetwork network, OptimizerBase? optimizer = null, int epoch = 0)
    {
        var tensors = new List<(string Name, int[] Shape, float[] Data)>();
        var parameters = network.Parameters.ToArray();
        foreach (var tensor in network.ParameterTensors)
            tensors.Add((tensor.Name, tensor.Shape, parameters.AsSpan(tensor.Offset, tensor.Length).ToArray()));
        var statistics = network.RunningStatistics.ToArray();
        foreach (var tensor in network.StatisticsTensors)
            tensors.Add((tensor.Name, tensor.Shape, statistics.AsSpan(tensor.Offset, tensor.Length).ToArray()));
        if (optimizer is not null)
            foreach (var (state, index) in new[] { (optimizer.FirstState.ToArray(), 0), (optimizer.SecondState.ToArray(), 1) })
                if (state.Length == parameters.Length)
                    foreach (var tensor in network.ParameterTensors)
                        tensors.Add(($"optimizer.state{index}.{tensor.Name}", tensor.Shape, state.AsSpan(tensor.Offset, tensor.Length).ToArray()));

        var header = new JsonObject
        {
            ["__metadata__"] = new JsonObject
            {
                ["network"] = network.Name,
                ["epoch"] = epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["optimizer_steps"] = (optimizer?.Steps ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };
        long offset = 0;
        foreach (var (name, shape, data) in tensors)
        {
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + data.Length * 4L),
            };
            offset += data.Length * 4L;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        // The header is padded with spaces to a multiple of 8 so the data that follows is aligned.
        int padded = (json.Length + 7) / 8 * 8;
        // Written beside the target under a name no other save uses, then renamed over it: a crash mid-write never
        // leaves a half checkpoint, and two saves to the same path at once each replace it whole.
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var file = File.Create(temporary))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
                file.Write(length);
                file.Write(json);
                for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
                foreach (var (_, _, data) in tensors) WriteLittleEndian(file, data);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Reads a checkpoint into the network (and optimizer); returns the saved epoch. Every problem names the
    /// file and what is wrong; nothing is changed unless the whole file is valid. The header is checked as the
    /// safetensors format requires: every entry a tensor with a known dtype, a shape and data offsets that tile the data
    /// without gaps or overlaps. With an optimizer, the file must hold all of its state. Weights that are NaN or ±∞ load,
    /// with a warning naming the tensor (to <paramref name="onWarning"/>, or standard error).</summary>
    public static int Load(string path, INeuralNetwork network, OptimizerBase? optimizer = null, Action<string>? onWarning = null)
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
        var entries = ReadEntries(path, header, bytes.Length - dataStart);

        float[] Read(string name, IReadOnlyList<int> shape)
        {
            if (!entries.TryGetValue(name, out var entry)) throw Corrupt(path, $"tensor '{name}' is missing");
            if (entry.Dtype != "F32") throw Corrupt(path, $"tensor '{name}' has dtype {entry.Dtype}, expected F32");
            if (!entry.Shape.SequenceEqual(shape))
                throw Corrupt(path, $"tensor '{name}' has shape {Shapes.Format(entry.Shape)} but {network.Name} needs {Shapes.Format(shape)}");
            var values = new float[entry.Count];
            var source = bytes.AsSpan(dataStart + (int)entry.Begin, (int)(entry.End - entry.Begin));
            for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(source.Slice(i * 4));
            if (Shapes.HasNonFinite(values))
                (onWarning ?? Console.Error.WriteLine)($"{path}: tensor '{name}' holds NaN or ±∞ values; the network will predict NaN where they are used.");
            return values;
        }

        var parameters = new float[network.ParameterCount];
        foreach (var tensor in network.ParameterTensors) Read(tensor.Name, tensor.Shape).CopyTo(parameters, tensor.Offset);
        var statistics = new float[network.RunningStatistics.Length];
        foreach (var tensor in network.StatisticsTensors) Read(tensor.Name, tensor.Shape).CopyTo(statistics, tensor.Offset);
        var states = new List<float[]>();
        if (optimizer is not null)
            for (int index = 0; index < optimizer.StateCopies; index++)
            {
                string prefix = $"optimizer.state{index}.";
                if (!entries.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)))
                    throw Corrupt(path, $"the optimizer keeps {optimizer.StateCopies} state vector(s) but the file has no '{prefix}*' tensors; " +
                        "load without the optimizer to restore θ only");
                var state = new float[network.ParameterCount];
                foreach (var tensor in network.ParameterTensors) Read(prefix + tensor.Name, tensor.Shape).CopyTo(state, tensor.Offset);
                states.Add(state);
            }
        var metadata = header["__metadata__"] as JsonObject;
        int epoch = int.TryParse(Text(metadata?["epoch"]), out int savedEpoch) ? savedEpoch : 0;
        long steps = long.TryParse(Text(metadata?["optimizer_steps"]), out long savedSteps) ? savedSteps : 0;

        parameters.CopyTo(network.Parameters);
        statistics.CopyTo(network.RunningStatistics);
        if (optimizer is not null) optimizer.Restore(states, steps);
        return epoch;
    }

    /// <summary>One tensor entry of a safetensors header.</summary>
    sealed record Entry(string Dtype, int[] Shape, long Begin, long End)
    {
        public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    }

    /// <summary>Every entry but the metadata, checked: a dtype string, a shape of non-negative integers, and data
    /// offsets that hold exactly the shape's values and together tile the data.</summary>
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
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (offsets[1] < offsets[0] || offsets[1] > dataLength || offsets[1] - offsets[0] != count * width)
                throw Corrupt(path, $"tensor '{name}' has data offsets [{offsets[0]}, {offsets[1]}] that do not hold {count} {dtype} values inside the {dataLength} bytes of data");
            entries[name] = new Entry(dtype, shape.Select(d => (int)d).ToArray(), offsets[0], offsets[1]);
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

    static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    static string Describe(JsonNode? node) => node is null ? "missing or null" : node.ToJsonString();

    static InvalidDataException Corrupt(string path, string problem) => new($"{path}: not a usable checkpoint: {problem}.");

    static void WriteLittleEndian(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian) stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
        else
        {
            Span<byte> word = stackalloc byte[4];
            foreach (var v in data)
            {
                BinaryPrimitives.WriteSingleLittleEndian(word, v);
                stream.Write(word);
            }
        }
    }
}
