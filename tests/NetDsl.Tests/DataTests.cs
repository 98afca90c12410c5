using NetDsl.Data;

namespace NetDsl.Tests;

public class DataTests
{
    static string ShippedData(string file) => Path.Combine(AppContext.BaseDirectory, "data", file);

    [Fact]
    public void The_shipped_subset_reads_as_28_by_28_images_with_labels_in_range()
    {
        var data = Dataset.FromIdx(ShippedData("t10k-images-idx3-ubyte.gz"), ShippedData("t10k-labels-idx1-ubyte.gz"), 10);
        Assert.Equal(1000, data.Count);
        Assert.Equal([28, 28], data.SampleShape);
        Assert.All(data.Features, v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(10, data.Labels.Distinct().Count());
    }

    [Fact]
    public void Idx_round_trips_raw_and_gzip()
    {
        byte[] values = [1, 2, 3, 4, 5, 6];
        foreach (var name in new[] { "a.idx", "a.idx.gz" })
        {
            var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + name);
            IdxFile.Write(path, [2, 3], values);
            var (shape, read) = IdxFile.Read(path);
            Assert.Equal([2, 3], shape);
            Assert.Equal(values, read);
            File.Delete(path);
        }
    }

    [Fact]
    public void A_truncated_idx_file_is_rejected_with_its_name_and_what_is_wrong()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".idx");
        File.WriteAllBytes(path, [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2]);
        var error = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("(2, 3) needs 6 values", error.Message);
        File.WriteAllBytes(path, [0x50, 0x4B, 3, 4]);
        Assert.Contains("not an IDX file", Assert.Throws<InvalidDataException>(() => IdxFile.Read(path)).Message);
        File.Delete(path);
    }

    [Fact]
    public void A_truncated_gzip_file_blames_the_gzip_stream_not_the_idx_header()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".idx.gz");
        IdxFile.Write(path, [40, 50], Enumerable.Range(0, 2000).Select(i => (byte)(i * 7)).ToArray());
        var bytes = File.ReadAllBytes(path);
        foreach (int cut in new[] { 4, 9, bytes.Length / 2 })
        {
            File.WriteAllBytes(path, bytes[..^cut]);
            var error = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
            Assert.StartsWith($"{path}: the gzip stream is", error.Message);
        }
        File.Delete(path);
    }

    static Dataset Numbered(int count) =>
        new(Enumerable.Range(0, count * 2).Select(i => (float)(i / 2)).ToArray(), Enumerable.Range(0, count).Select(i => i % 3).ToArray(), [2], 3);

    [Fact]
    public void Mini_batches_cover_every_sample_once_per_epoch_with_one_hot_targets_and_repeat_per_seed()
    {
        var data = Numbered(10);
        var batches = new MiniBatches(data, 4, seed: 7);
        Assert.Equal(3, batches.BatchCount);
        List<int> Epoch(MiniBatches source, int epoch)
        {
            source.Shuffle(epoch);
            var seen = new List<int>();
            for (int b = 0; b < source.BatchCount; b++)
            {
                var batch = source.Get(b);
                for (int i = 0; i < batch.Size; i++)
                {
                    int sample = (int)batch.Inputs[i * 2];
                    seen.Add(sample);
                    Assert.Equal(sample % 3, batch.Labels[i]);
                    Assert.Equal(1f, batch.Targets[i * 3 + sample % 3]);
                    Assert.Equal(1f, batch.Targets.Slice(i * 3, 3).ToArray().Sum());
                }
            }
            return seen;
        }
        var first = Epoch(batches, 1);
        Assert.Equal(Enumerable.Range(0, 10), first.Order());
        Assert.NotEqual(first, Epoch(batches, 2));
        Assert.Equal(first, Epoch(new MiniBatches(data, 4, seed: 7), 1));
    }

    [Fact]
    public void Hold_out_splits_without_overlap()
    {
        var (kept, held) = Numbered(20).HoldOut(5, seed: 1);
        Assert.Equal(15, kept.Count);
        Assert.Equal(5, held.Count);
        var all = kept.Features.Where((_, i) => i % 2 == 0).Concat(held.Features.Where((_, i) => i % 2 == 0)).Order();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (float)i), all);
    }

    [Fact]
    public void Standard_scaler_uses_training_statistics_on_other_data()
    {
        var train = new Dataset([1, 10, 3, 10, 5, 10], [0, 1, 0], [2], 2);
        var scaler = StandardScaler.Fit(train);
        Assert.Equal(3, scaler.Mean[0], 6);
        // σ = √(8/3) for 1, 3, 5; the constant feature is only centred.
        Assert.Equal(1 / Math.Sqrt(8.0 / 3), scaler.InverseDeviation[0], 6);
        var other = scaler.Transform(new Dataset([3, 12], [1], [2], 2));
        Assert.Equal(0, other.Features[0], 6);
        Assert.Equal(2, other.Features[1], 6);
    }
}
