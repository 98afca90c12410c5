using System.Buffers.Binary;
using System.Globalization;
using NetDsl.Optimizers;

namespace NetDsl.Training;

/// <summary>What <see cref="Checkpoint.LoadMatching"/> did with each tensor.</summary>
/// <param name="Loaded">The network's tensors the file held under the same name and shape.</param>
/// <param name="Skipped">The file's tensors left out: names the network has no tensor for, and (when asked to skip them)
/// tensors whose shape differs.</param>
/// <param name="Missing">The network's tensors the file does not hold; they keep their values.</param>
public sealed record MatchedLoad(IReadOnlyList<string> Loaded, IReadOnlyList<string> Skipped, IReadOnlyList<string> Missing);

/// <summary>Checkpoints PyTorch loads strictly. The weights file (safetensors, <c>safetensors.torch.load_file</c>) holds
/// exactly the keys and shapes of the equivalent module's <c>state_dict()</c>: θ under PyTorch's names
/// (<c>Hidden1.weight</c>), and per BatchNorm layer <c>running_mean</c>, <c>running_var</c> and
/// <c>num_batches_tracked</c> (I64, the optimizer's step count when one is saved). The optimizer's state and the epoch
/// go to a second file beside it, <see cref="OptimizerPath"/>; both carry the id of the save they belong to.</summary>
public static class Checkpoint
{
    const string SaveKey = "save", EpochKey = "epoch", StepsKey = "optimizer_steps", NetworkKey = "network";

    /// <summary>Where the optimizer's state of the checkpoint at <paramref name="path"/> goes:
    /// <c>model.safetensors</c> → <c>model.optim.safetensors</c>.</summary>
    public static string OptimizerPath(string path) => Path.ChangeExtension(path, ".optim.safetensors");

    /// <summary>Writes θ and the running statistics to <paramref name="path"/> and, with an optimizer, its state and the
    /// epoch to <see cref="OptimizerPath"/> (without one, an optimizer file left from an earlier save is removed, so the
    /// pair stays one save). Each file is written whole beside its target and renamed over it, the optimizer's first.</summary>
    public static void Save(string path, INeuralNetwork network, OptimizerBase? optimizer = null, int epoch = 0)
    {
        var metadata = new Dictionary<string, string>
        {
            [NetworkKey] = network.Name,
            [EpochKey] = epoch.ToString(CultureInfo.InvariantCulture),
            [SaveKey] = Guid.NewGuid().ToString("N"),
        };
        var weights = new List<(string, string, int[], byte[])>();
        var parameters = network.Parameters.ToArray();
        foreach (var tensor in network.ParameterTensors)
            weights.Add((tensor.Name, "F32", tensor.Shape, Bytes(parameters.AsSpan(tensor.Offset, tensor.Length))));
        var statistics = network.RunningStatistics.ToArray();
        foreach (var tensor in network.StatisticsTensors)
            weights.Add((tensor.Name, "F32", tensor.Shape, Bytes(statistics.AsSpan(tensor.Offset, tensor.Length))));
        var tracked = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(tracked, optimizer?.Steps ?? 0);
        foreach (string layer in BatchNormLayers(network)) weights.Add(($"{layer}.num_batches_tracked", "I64", [], tracked));

        var temporaries = new List<string>();
        try
        {
            string? optimizerFile = null;
            if (optimizer is not null)
            {
                var states = new List<(string, string, int[], byte[])>();
                foreach (var (state, index) in new[] { (optimizer.FirstState.ToArray(), 0), (optimizer.SecondState.ToArray(), 1) })
                    if (state.Length == parameters.Length)
                        foreach (var tensor in network.ParameterTensors)
                            states.Add(($"optimizer.state{index}.{tensor.Name}", "F32", tensor.Shape, Bytes(state.AsSpan(tensor.Offset, tensor.Length))));
                var optimizerMetadata = new Dictionary<string, string>(metadata) { [StepsKey] = optimizer.Steps.ToString(CultureInfo.InvariantCulture) };
                temporaries.Add(optimizerFile = SafetensorsFile.WriteTemporary(OptimizerPath(path), states, optimizerMetadata));
            }
            string weightsFile = SafetensorsFile.WriteTemporary(path, weights, metadata);
            temporaries.Add(weightsFile);
            if (optimizerFile is not null) SafetensorsFile.Commit(optimizerFile, OptimizerPath(path));
            else File.Delete(OptimizerPath(path));
            SafetensorsFile.Commit(weightsFile, path);
        }
        finally
        {
            foreach (var temporary in temporaries) File.Delete(temporary);
        }
    }

    /// <summary>Reads a checkpoint into the network (and optimizer); returns the saved epoch. Every problem names the
    /// file and what is wrong; nothing is changed unless everything needed is valid. Weights load from F32, F64, F16 or
    /// BF16 (PyTorch's half-precision training). With an optimizer, its file must hold all of its state and belong to the
    /// same save. Weights that are NaN or ±∞ load, with a warning naming the tensor (to <paramref name="onWarning"/>,
    /// or standard error).</summary>
    public static int Load(string path, INeuralNetwork network, OptimizerBase? optimizer = null, Action<string>? onWarning = null)
    {
        var file = SafetensorsFile.Read(path);
        float[] Read(string name, IReadOnlyList<int> shape)
        {
            if (!file.Entries.TryGetValue(name, out var entry)) throw SafetensorsFile.Corrupt(path, $"tensor '{name}' is missing");
            if (!entry.Shape.SequenceEqual(shape))
                throw SafetensorsFile.Corrupt(path, $"tensor '{name}' has shape {Shapes.Format(entry.Shape)} but {network.Name} needs {Shapes.Format(shape)}");
            var values = file.Floats(name, entry);
            if (Shapes.HasNonFinite(values))
                (onWarning ?? Console.Error.WriteLine)($"{path}: tensor '{name}' holds NaN or ±∞ values; the network will predict NaN where they are used.");
            return values;
        }
        var parameters = new float[network.ParameterCount];
        foreach (var tensor in network.ParameterTensors) Read(tensor.Name, tensor.Shape).CopyTo(parameters, tensor.Offset);
        var statistics = new float[network.RunningStatistics.Length];
        foreach (var tensor in network.StatisticsTensors) Read(tensor.Name, tensor.Shape).CopyTo(statistics, tensor.Offset);

        var states = new List<float[]>();
        long steps = 0;
        if (optimizer is not null)
        {
            string optimizerPath = OptimizerPath(path);
            if (!File.Exists(optimizerPath))
                throw SafetensorsFile.Corrupt(path, $"the optimizer's state belongs in {optimizerPath}, which does not exist; load without the optimizer to restore θ only");
            var optimizerFile = SafetensorsFile.Read(optimizerPath);
            if (!optimizerFile.Metadata.TryGetValue(SaveKey, out var save) || !file.Metadata.TryGetValue(SaveKey, out var weightsSave) || save != weightsSave)
                throw SafetensorsFile.Corrupt(optimizerPath, $"it belongs to another save than {path}; load without the optimizer to restore θ only");
            for (int index = 0; index < optimizer.StateCopies; index++)
            {
                string prefix = $"optimizer.state{index}.";
                if (!optimizerFile.Entries.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)))
                    throw SafetensorsFile.Corrupt(optimizerPath, $"the optimizer keeps {optimizer.StateCopies} state vector(s) but the file has no '{prefix}*' tensors");
                var state = new float[network.ParameterCount];
                foreach (var tensor in network.ParameterTensors)
                {
                    string name = prefix + tensor.Name;
                    if (!optimizerFile.Entries.TryGetValue(name, out var entry) || !entry.Shape.SequenceEqual(tensor.Shape))
                        throw SafetensorsFile.Corrupt(optimizerPath, $"tensor '{name}' is missing or not of shape {Shapes.Format(tensor.Shape)}");
                    optimizerFile.Floats(name, entry).CopyTo(state, tensor.Offset);
                }
                states.Add(state);
            }
            long.TryParse(optimizerFile.Metadata.GetValueOrDefault(StepsKey), NumberStyles.None, CultureInfo.InvariantCulture, out steps);
        }
        int epoch = int.TryParse(file.Metadata.GetValueOrDefault(EpochKey), NumberStyles.None, CultureInfo.InvariantCulture, out int saved) ? saved : 0;

        parameters.CopyTo(network.Parameters);
        statistics.CopyTo(network.RunningStatistics);
        optimizer?.Restore(states, steps);
        return epoch;
    }

    /// <summary>Loads by name into a network that need not be the one saved (transfer learning): each of its tensors the
    /// file holds under the same name and shape is loaded, the others keep their values. A tensor of the same name with
    /// another shape is an error naming both shapes, unless <paramref name="skipMismatched"/>.</summary>
    public static MatchedLoad LoadMatching(INeuralNetwork network, string path, bool skipMismatched = false)
    {
        var file = SafetensorsFile.Read(path);
        var (loaded, skipped, missing) = (new List<string>(), new List<string>(), new List<string>());
        var parameters = network.Parameters.ToArray();
        var statistics = network.RunningStatistics.ToArray();
        foreach (var (tensors, target) in new[] { (network.ParameterTensors, parameters), (network.StatisticsTensors, statistics) })
            foreach (var tensor in tensors)
            {
                if (!file.Entries.TryGetValue(tensor.Name, out var entry)) { missing.Add(tensor.Name); continue; }
                if (!entry.Shape.SequenceEqual(tensor.Shape))
                {
                    if (!skipMismatched)
                        throw SafetensorsFile.Corrupt(path, $"tensor '{tensor.Name}' has shape {Shapes.Format(entry.Shape)} but {network.Name} needs {Shapes.Format(tensor.Shape)} (pass skipMismatched: true to keep the network's)");
                    skipped.Add(tensor.Name);
                    continue;
                }
                file.Floats(tensor.Name, entry).CopyTo(target, tensor.Offset);
                loaded.Add(tensor.Name);
            }
        var known = network.ParameterTensors.Concat(network.StatisticsTensors).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        skipped.AddRange(file.Entries.Keys.Where(name => !known.Contains(name)).Order(StringComparer.Ordinal));
        parameters.CopyTo(network.Parameters);
        statistics.CopyTo(network.RunningStatistics);
        return new MatchedLoad(loaded, skipped, missing);
    }

    /// <summary>The BatchNorm layers, named by their running statistics.</summary>
    static IEnumerable<string> BatchNormLayers(INeuralNetwork network) =>
        network.StatisticsTensors.Select(t => t.Name).Where(n => n.EndsWith(".running_mean", StringComparison.Ordinal))
            .Select(n => n[..^".running_mean".Length]);

    static byte[] Bytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }
}
