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
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*.tmp"));

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

    [Fact]
    public void Saves_to_one_path_at_once_each_replace_it_whole()
    {
        var path = TempPath();
        var networks = new[] { new MixedCnn(seed: 1), new MixedCnn(seed: 2) };
        var start = new Barrier(3);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        void Repeat(Action action) 
        {
            for (int i = 0; i < 40; i++)
            {
                start.SignalAndWait();
                try { action(); }
                catch (Exception e) { failures.Enqueue(e); }
            }
        }
        var reader = new MixedCnn(seed: 3);
        var threads = new[]
        {
            new Thread(() => Repeat(() => Checkpoint.Save(path, networks[0]))),
            new Thread(() => Repeat(() => Checkpoint.Save(path, networks[1]))),
            // A reader sees one whole checkpoint or the other, never a mix or a half.
            new Thread(() => Repeat(() =>
            {
                if (!File.Exists(path)) return;
                Checkpoint.Load(path, reader);
                if (!networks.Any(n => n.Parameters.SequenceEqual(reader.Parameters))) throw new InvalidDataException("a torn checkpoint");
            })),
        };
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        Assert.Empty(failures);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*.tmp"));
        File.Delete(path);
    }

    /// <summary>Rewrites a checkpoint's JSON header (the data stays as it is).</summary>
    static void EditHeader(string path, Func<string, string> edit)
    {
        var bytes = File.ReadAllBytes(path);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(bytes, 8, length)));
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        File.WriteAllBytes(path, [.. prefix, .. header, .. bytes.AsSpan(8 + length)]);
    }

    public static TheoryData<string, string> BadHeaders => new()
    {
        // Norm.weight laid over Hidden.weight's bytes: two tensors would read the same data.
        { """{"Hidden.weight":{"dtype":"F32","shape":[4,5],"data_offsets":[0,80]},"Hidden.bias":{"dtype":"F32","shape":[0],"data_offsets":[80,80]},"Norm.weight":{"dtype":"F32","shape":[4],"data_offsets":[64,80]},"Norm.bias":{"dtype":"F32","shape":[4],"data_offsets":[96,112]},"Norm.running_mean":{"dtype":"F32","shape":[4],"data_offsets":[112,128]},"Norm.running_var":{"dtype":"F32","shape":[4],"data_offsets":[128,144]}}""",
            "tensor 'Norm.weight' at bytes [64, 80) overlaps the tensor before it, which ends at 80" },
        // Bytes no tensor claims.
        { """{"Hidden.weight":{"dtype":"F32","shape":[4,5],"data_offsets":[0,80]},"Norm.weight":{"dtype":"F32","shape":[4],"data_offsets":[80,96]},"Norm.bias":{"dtype":"F32","shape":[4],"data_offsets":[96,112]},"Norm.running_mean":{"dtype":"F32","shape":[4],"data_offsets":[112,128]}}""",
            "bytes [128, 144) of the data belong to no tensor" },
        { "[1, 2]", "the header is [1,2], not a JSON object" },
        { """{"Hidden.weight":{"dtype":5,"shape":[4,5],"data_offsets":[0,80]}}""", "tensor 'Hidden.weight' has dtype 5, not a string" },
        { """{"Hidden.weight":{"dtype":"F32","shape":[4,5],"data_offsets":[0.5,80]}}""", "tensor 'Hidden.weight' has data_offsets [0.5,80], not an array of 2 non-negative integers" },
        { """{"Hidden.weight":{"dtype":"F32","shape":[4,-5],"data_offsets":[0,80]}}""", "tensor 'Hidden.weight' has shape [4,-5], not an array of non-negative integers" },
        { """{"Hidden.weight":"F32"}""", "entry 'Hidden.weight' is \"F32\", not a tensor object" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void A_header_that_breaks_the_format_is_rejected_with_the_file_and_the_entry(string header, string problem)
    {
        var path = TempPath();
        Checkpoint.Save(path, new DenseNorm(seed: 2));
        EditHeader(path, _ => header);
        var network = new DenseNorm(seed: 5);
        var before = network.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, network));
        Assert.StartsWith(path + ": not a usable checkpoint: ", error.Message);
        Assert.Contains(problem, error.Message);
        Assert.Equal(before, network.Parameters.ToArray());
        File.Delete(path);
    }

    [Fact]
    public void Loading_with_an_optimizer_needs_all_of_its_state()
    {
        var path = TempPath();
        var network = new DenseNorm(seed: 2);
        var momentum = new Momentum(0.1);
        network.TrainStep(TestData.Uniform(3 * 5, 1), TestData.Uniform(3 * 4, 2), momentum);
        Checkpoint.Save(path, network, momentum);
        var adam = new Adam();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm(), adam));
        Assert.Contains("the optimizer keeps 2 state vector(s) but the file has no 'optimizer.state1.*' tensors", error.Message);
        Assert.Equal(0, adam.Steps);
        Checkpoint.Save(path, network);
        Assert.Contains("has no 'optimizer.state0.*' tensors", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm(), new Momentum(0.1))).Message);
        Checkpoint.Load(path, new DenseNorm());
        File.Delete(path);
    }

    [Fact]
    public void Non_finite_weights_load_with_a_warning_naming_the_tensor()
    {
        var path = TempPath();
        var network = new DenseNorm(seed: 2);
        network.Parameters[21] = float.NaN; // in Norm.weight, after the 20 values of Hidden.weight
        Checkpoint.Save(path, network);
        var warnings = new List<string>();
        Checkpoint.Load(path, new DenseNorm(), onWarning: warnings.Add);
        Assert.Equal($"{path}: tensor 'Norm.weight' holds NaN or ±∞ values; the network will predict NaN where they are used.", Assert.Single(warnings));
        File.Delete(path);
    }
}
