using System.Buffers.Binary;
using System.Text;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

public class CheckpointTests
{
    static string TempPath() => Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".safetensors");

    [Fact]
    public void Save_and_load_restore_parameters_statistics_optimizer_state_and_epoch()
    {
        var network = new MixedCnn(seed: 1);
        var adam = new Adam(0.01);
        var x = TestData.Uniform(4 * 72, 1);
        var y = TestData.Distribution(4, 4, 2);
        for (int i = 0; i < 3; i++) network.TrainStep(x, y, adam);
        var path = TempPath();
        Checkpoint.Save(path, network, adam, epoch: 7);

        var restored = new MixedCnn(seed: 99);
        var restoredAdam = new Adam(0.01);
        Assert.Equal(7, Checkpoint.Load(path, restored, restoredAdam));
        Assert.True(network.Parameters.SequenceEqual(restored.Parameters));
        Assert.True(network.RunningStatistics.SequenceEqual(restored.RunningStatistics));
        Assert.True(adam.FirstMoment.SequenceEqual(restoredAdam.FirstMoment));
        Assert.Equal(adam.Steps, restoredAdam.Steps);
        // Training continues identically from the checkpoint.
        network.DropoutEnabled = restored.DropoutEnabled = false;
        network.TrainStep(x, y, adam);
        restored.TrainStep(x, y, restoredAdam);
        Assert.True(network.Parameters.SequenceEqual(restored.Parameters));
        File.Delete(path);
    }

    [Fact]
    public void The_file_is_safetensors_with_pytorch_names_shapes_and_little_endian_floats()
    {
        var network = new DenseNorm(seed: 2);
        var path = TempPath();
        Checkpoint.Save(path, network);
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        var header = System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength)).RootElement;
        var weight = header.GetProperty("Hidden.weight");
        Assert.Equal("F32", weight.GetProperty("dtype").GetString());
        Assert.Equal([4, 5], weight.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([4], header.GetProperty("Norm.running_var").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        long begin = weight.GetProperty("data_offsets")[0].GetInt64();
        Assert.Equal(network.Parameters[0], BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + headerLength + (int)begin)));
        File.Delete(path);
    }

    [Fact]
    public void A_corrupt_or_mismatched_checkpoint_names_the_file_and_the_problem_and_changes_nothing()
    {
        var path = TempPath();
        Checkpoint.Save(path, new DenseNorm(seed: 2));
        var network = new MixedCnn(seed: 3);
        var before = network.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, network));
        Assert.Contains(path, error.Message);
        Assert.Contains("tensor 'Conv.weight' is missing", error.Message);
        Assert.True(before.AsSpan().SequenceEqual(network.Parameters));

        error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new SigmoidRegressor()));
        Assert.Contains("tensor 'Hidden.weight' has shape (4, 5) but SigmoidRegressor needs (11, 6)", error.Message);
        Assert.False(File.Exists(path + ".tmp"));

        Checkpoint.Save(path, new DenseNorm(seed: 2));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 8)]);
        error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm()));
        Assert.Contains("do not hold", error.Message);
        File.WriteAllBytes(path, [1, 0, 0, 0, 0, 0, 0, 0, (byte)'{']);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm())).Message);
        File.WriteAllBytes(path, [255, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Contains("claims 255 bytes", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm())).Message);
        File.Delete(path);
    }
}
