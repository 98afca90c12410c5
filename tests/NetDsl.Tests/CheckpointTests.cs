using System.Buffers.Binary;
using System.Text;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

public class CheckpointTests
{
    static string TempPath() => Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".safetensors");

    static System.Text.Json.JsonElement Header(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, length)).RootElement;
    }

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
        // The weights file holds the module's tensors only; the optimizer's state is in the file beside it.
        var weights = Header(path);
        Assert.DoesNotContain(weights.EnumerateObject(), p => p.Name.StartsWith("optimizer.", StringComparison.Ordinal));
        Assert.Contains(Header(Checkpoint.OptimizerPath(path)).EnumerateObject(), p => p.Name == "optimizer.state1.Conv.weight");

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
    public void One_dimensional_convolution_weights_have_the_shapes_of_pytorch_conv1d()
    {
        // nn.Conv1d(12, 4, 3).weight is [4, 12, 3]; nn.Conv1d(4, 6, 4, stride=2).weight [6, 4, 4]; nn.PReLU(6).weight [6].
        var shape = SavedShapes(new SequenceCnn(seed: 1));
        Assert.Equal([4, 12, 3], shape("Conv1.weight"));
        Assert.Equal([6, 4, 4], shape("Conv2.weight"));
        Assert.Equal([6], shape("Conv2.bias"));
        Assert.Equal([6], shape("Act2.weight"));
    }

    [Fact]
    public void A_projected_shortcut_stores_its_1x1_convolution_as_the_add_layers_weight_and_bias()
    {
        var shape = SavedShapes(new ProjectedResidual(seed: 1));
        // nn.Conv2d(4, 6, 1, stride=2).weight is [6, 4, 1, 1].
        Assert.Equal([6, 4, 1, 1], shape("Sum.weight"));
        Assert.Equal([6], shape("Sum.bias"));
    }

    /// <summary>Saves <paramref name="network"/> and returns the shape each tensor has in the file's header.</summary>
    static Func<string, int[]> SavedShapes(INeuralNetwork network)
    {
        var path = TempPath();
        Checkpoint.Save(path, network);
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength)).RootElement;
        return tensor => header.GetProperty(tensor).GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    [Fact]
    public void A_resnet18_style_network_on_32x32_inputs_learns_a_batch_it_sees_again()
    {
        var network = new ResNet18Narrow(seed: 3);
        var optimizer = new NetDsl.Optimizers.Adam(0.01);
        var inputs = TestData.Uniform(8 * 3 * 32 * 32, 50);
        var targets = TestData.OneHot(8, 10, 51);
        float first = network.TrainStep(inputs, targets, optimizer);
        float last = first;
        for (int step = 0; step < 30; step++) last = network.TrainStep(inputs, targets, optimizer);
        Assert.True(last < 0.5f * first, $"loss {first} → {last}");
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
            "bytes [128, 152) of the data belong to no tensor" },
        { "[1, 2]", "the header is [1,2], not a JSON object" },
        { """{"Hidden.weight":{"dtype":5,"shape":[4,5],"data_offsets":[0,80]}}""", "tensor 'Hidden.weight' has dtype 5, not a string" },
        { """{"Hidden.weight":{"dtype":"F32","shape":[4,5],"data_offsets":[0.5,80]}}""", "tensor 'Hidden.weight' has data_offsets [0.5,80], not an array of 2 non-negative integers" },
        { """{"Hidden.weight":{"dtype":"F32","shape":[4,-5],"data_offsets":[0,80]}}""", "tensor 'Hidden.weight' has shape [4,-5], not an array of non-negative integers" },
        { """{"Hidden.weight":"F32"}""", "entry 'Hidden.weight' is \"F32\", not a tensor object" },
        // A zero dimension beside one no array can hold: no data, but not a NetDsl tensor either.
        { """{"Hidden.weight":{"dtype":"F32","shape":[0,4294967296],"data_offsets":[0,0]}}""", "tensor 'Hidden.weight' has shape [0,4294967296], with a dimension beyond 2147483647" },
        // 2^90 elements: a 64-bit count wraps to 0, which an empty byte range would match.
        { """{"Hidden.weight":{"dtype":"F32","shape":[1073741824,1073741824,1073741824],"data_offsets":[0,0]}}""", "whose element count overflows a 64-bit integer" },
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
    public void Loading_with_an_optimizer_needs_all_of_its_state_from_the_same_save()
    {
        var path = TempPath();
        var network = new DenseNorm(seed: 2);
        var momentum = new Momentum(0.1);
        network.TrainStep(TestData.Uniform(3 * 5, 1), TestData.Uniform(3 * 4, 2), momentum);
        Checkpoint.Save(path, network, momentum);
        var adam = new Adam();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm(), adam));
        Assert.Contains("the optimizer keeps 2 state vector(s) but the file has no 'optimizer.state1.*' tensors", error.Message);
        Assert.StartsWith(Checkpoint.OptimizerPath(path), error.Message);
        Assert.Equal(0, adam.Steps);
        // An optimizer file of another save is refused.
        var stale = File.ReadAllBytes(Checkpoint.OptimizerPath(path));
        Checkpoint.Save(path, network, momentum);
        File.WriteAllBytes(Checkpoint.OptimizerPath(path), stale);
        Assert.Contains("belongs to another save", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm(), new Momentum(0.1))).Message);
        // Saved without an optimizer, the pair has none: loading with one says where its state would be.
        Checkpoint.Save(path, network);
        Assert.False(File.Exists(Checkpoint.OptimizerPath(path)));
        Assert.Contains("which does not exist", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new DenseNorm(), new Momentum(0.1))).Message);
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

    [Fact]
    public void The_weights_file_holds_exactly_the_state_dict_of_the_equivalent_pytorch_module()
    {
        // The keys, dtypes and shapes of the PyTorch module the README gives for the sample's CNN, written out by hand:
        // Conv2d(1, 32, 3, padding=1, bias=False), BatchNorm2d(32), ..., Linear(3136, 128), Linear(128, 10).
        string[] expected =
        [
            "Conv1.weight F32 [32,1,3,3]", "Norm1.weight F32 [32]", "Norm1.bias F32 [32]", "Norm1.running_mean F32 [32]",
            "Norm1.running_var F32 [32]", "Norm1.num_batches_tracked I64 []", "Conv2.weight F32 [64,32,3,3]", "Norm2.weight F32 [64]",
            "Norm2.bias F32 [64]", "Norm2.running_mean F32 [64]", "Norm2.running_var F32 [64]", "Norm2.num_batches_tracked I64 []",
            "Hidden.weight F32 [128,3136]", "Hidden.bias F32 [128]", "Logits.weight F32 [10,128]", "Logits.bias F32 [10]",
        ];
        var path = TempPath();
        var adam = new Adam();
        var network = new FashionCnn(seed: 1);
        network.TrainStep(TestData.Uniform(2 * 784, 1), TestData.OneHot(2, 10, 2), adam);
        Checkpoint.Save(path, network, adam);
        var keys = Header(path).EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => $"{p.Name} {p.Value.GetProperty("dtype").GetString()} [{string.Join(",", p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()))}]");
        Assert.Equal(expected.Order(), keys.Order());
        // num_batches_tracked counts the optimizer's steps, as PyTorch counts the batches a BatchNorm normalized in training.
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        long begin = Header(path).GetProperty("Norm1.num_batches_tracked").GetProperty("data_offsets")[0].GetInt64();
        Assert.Equal(1L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8 + headerLength + (int)begin)));
        File.Delete(path);
        File.Delete(Checkpoint.OptimizerPath(path));
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    [InlineData("F64")]
    public void Weights_trained_in_other_precisions_load_converted_to_float(string dtype)
    {
        // Values every one of these formats holds exactly.
        var network = new DenseNorm(seed: 3);
        var values = Enumerable.Range(0, DenseNorm.ParameterCount).Select(i => (i % 7 - 3) * 0.25f).ToArray();
        var statistics = Enumerable.Range(0, network.RunningStatistics.Length).Select(i => 1 + i * 0.5f).ToArray();
        byte[] Encode(ReadOnlySpan<float> data)
        {
            int width = dtype == "F64" ? 8 : 2;
            var bytes = new byte[data.Length * width];
            for (int i = 0; i < data.Length; i++)
                if (dtype == "F64") BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), data[i]);
                else if (dtype == "F16") BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)data[i]);
                else BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)(BitConverter.SingleToInt32Bits(data[i]) >> 16));
            return bytes;
        }
        var tensors = ((INeuralNetwork)network).ParameterTensors.Select(t => (t.Name, dtype, t.Shape, Encode(values.AsSpan(t.Offset, t.Length))))
            .Concat(((INeuralNetwork)network).StatisticsTensors.Select(t => (t.Name, dtype, t.Shape, Encode(statistics.AsSpan(t.Offset, t.Length)))));
        var path = TempPath();
        SafetensorsFile.Commit(SafetensorsFile.WriteTemporary(path, tensors, new Dictionary<string, string>()), path);
        Checkpoint.Load(path, network);
        Assert.Equal(values, network.Parameters.ToArray());
        Assert.Equal(statistics, network.RunningStatistics.ToArray());
        File.Delete(path);
    }

    [Fact]
    public void Load_matching_takes_the_body_of_another_network_and_names_what_it_left()
    {
        var path = TempPath();
        var source = new FashionMlp(seed: 1);
        Checkpoint.Save(path, source);
        var target = new FiveClassMlp(seed: 2);
        var head = target.Parameters.Slice(FiveClassMlp.LogitsWeightOffset, FiveClassMlp.LogitsWeightLength).ToArray();
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadMatching(target, path));
        Assert.Contains("tensor 'Logits.weight' has shape (10, 128) but FiveClassMlp needs (5, 128)", error.Message);

        var result = Checkpoint.LoadMatching(target, path, skipMismatched: true);
        Assert.Equal(["Hidden1.weight", "Hidden1.bias", "Hidden2.weight", "Hidden2.bias"], result.Loaded);
        Assert.Equal(["Logits.weight", "Logits.bias"], result.Skipped);
        Assert.Empty(result.Missing);
        Assert.Equal(source.Parameters.Slice(FashionMlp.Hidden2WeightOffset, FashionMlp.Hidden2WeightLength).ToArray(),
            target.Parameters.Slice(FiveClassMlp.Hidden2WeightOffset, FiveClassMlp.Hidden2WeightLength).ToArray());
        Assert.Equal(head, target.Parameters.Slice(FiveClassMlp.LogitsWeightOffset, FiveClassMlp.LogitsWeightLength).ToArray());
        File.Delete(path);
    }
}
