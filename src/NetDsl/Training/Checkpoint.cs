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
        // Written beside the target and renamed over it: a crash mid-write never leaves a half checkpoint.
        string temporary = path + ".tmp";
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

    /// <summary>Reads a checkpoint into the network (and optimizer); returns the saved epoch. Every problem names the
    /// file and what is wrong; nothing is changed unless the whole file is valid.</summary>
    public static int Load(string path, INeuralNetwork network, OptimizerBase? optimizer = null)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw Corrupt(path, $"{bytes.Length} bytes is too short for the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8)) throw Corrupt(path, $"the header claims {headerLength} bytes but only {bytes.Length - 8} follow");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLength))?.AsObject() ?? throw Corrupt(path, "the header is empty");
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"the header is not valid JSON ({e.Message})");
        }
        int dataStart = 8 + (int)headerLength;

        float[] Read(string name, IReadOnlyList<int> shape)
        {
            if (header[name] is not JsonObject entry) throw Corrupt(path, $"tensor '{name}' is missing");
            string? dtype = (string?)entry["dtype"];
            if (dtype != "F32") throw Corrupt(path, $"tensor '{name}' has dtype {dtype}, expected F32");
            var savedShape = entry["shape"]?.AsArray().Select(d => (int)d!).ToArray() ?? [];
            if (!savedShape.SequenceEqual(shape))
                throw Corrupt(path, $"tensor '{name}' has shape {Shapes.Format(savedShape)} but {network.Name} needs {Shapes.Format(shape)}");
            var offsets = entry["data_offsets"]?.AsArray().Select(o => (long)o!).ToArray() ?? [];
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (offsets.Length != 2 || offsets[1] - offsets[0] != count * 4 || offsets[0] < 0 || dataStart + offsets[1] > bytes.Length)
                throw Corrupt(path, $"tensor '{name}' has data offsets [{string.Join(", ", offsets)}] that do not hold {count} floats inside the file");
            var values = new float[count];
            var source = bytes.AsSpan(dataStart + (int)offsets[0], (int)(count * 4));
            for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(source.Slice(i * 4));
            return values;
        }

        var parameters = new float[network.ParameterCount];
        foreach (var tensor in network.ParameterTensors) Read(tensor.Name, tensor.Shape).CopyTo(parameters, tensor.Offset);
        var statistics = new float[network.RunningStatistics.Length];
        foreach (var tensor in network.StatisticsTensors) Read(tensor.Name, tensor.Shape).CopyTo(statistics, tensor.Offset);
        var states = new List<float[]>();
        if (optimizer is not null)
            for (int index = 0; index < optimizer.StateCopies && header.ContainsKey($"optimizer.state{index}.{network.ParameterTensors[0].Name}"); index++)
            {
                var state = new float[network.ParameterCount];
                foreach (var tensor in network.ParameterTensors) Read($"optimizer.state{index}.{tensor.Name}", tensor.Shape).CopyTo(state, tensor.Offset);
                states.Add(state);
            }
        var metadata = header["__metadata__"] as JsonObject;
        int epoch = int.TryParse((string?)metadata?["epoch"], out int savedEpoch) ? savedEpoch : 0;
        long steps = long.TryParse((string?)metadata?["optimizer_steps"], out long savedSteps) ? savedSteps : 0;

        parameters.CopyTo(network.Parameters);
        statistics.CopyTo(network.RunningStatistics);
        if (optimizer is not null && states.Count == optimizer.StateCopies) optimizer.Restore(states, steps);
        return epoch;
    }

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
