using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using NetDsl.Interop;
using NetDsl.Training;

namespace NetDsl.Tests;

/// <summary>TensorBoard event files. The reference, TensorBoard/tensorflow-scalars.tfevents, was written by TensorFlow 2
/// itself (<c>tf.summary.create_file_writer</c>, then <c>tf.summary.scalar("my_metric", 0.5 * step, step=step)</c> for
/// steps 0 to 99; from the test data of github.com/orktes/go-tensorboard, commit 3e0d0b4): NetDsl, given the same wall
/// times, must write the same bytes. Epoch curves are read back with Google.Protobuf, a parser independent of the writer.</summary>
public class TensorBoardTests
{
    /// <summary>Hands out the given instants in order, one per event.</summary>
    sealed class ReplayedClock(IEnumerable<DateTimeOffset> instants) : TimeProvider
    {
        readonly Queue<DateTimeOffset> queue = new(instants);
        public override DateTimeOffset GetUtcNow() => queue.Dequeue();
    }

    /// <summary>The payloads of a file's records, reading only the framing's lengths.</summary>
    static List<byte[]> Records(byte[] file)
    {
        var records = new List<byte[]>();
        for (int at = 0; at < file.Length;)
        {
            int length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at)));
            records.Add(file.AsSpan(at + 12, length).ToArray());
            at += 12 + length + 4;
        }
        return records;
    }

    [Fact]
    public void Scalars_are_written_byte_for_byte_as_TensorFlow_writes_them()
    {
        byte[] reference = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TensorBoard", "tensorflow-scalars.tfevents"));
        var records = Records(reference);
        Assert.Equal(101, records.Count);
        // Each event starts with its wall time (field 1, a double: tag byte 0x09); TensorFlow takes it in whole microseconds.
        var instants = records.Select(r =>
        {
            Assert.Equal(0x09, r[0]);
            double seconds = BinaryPrimitives.ReadDoubleLittleEndian(r.AsSpan(1));
            return DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(seconds * 1e6) * TimeSpan.TicksPerMicrosecond);
        });
        var written = new MemoryStream();
        using (var writer = new TensorBoardWriter(written, new ReplayedClock(instants.ToList())))
            for (int step = 0; step < 100; step++) writer.AddScalar("my_metric", 0.5 * step, step);
        byte[] ours = written.ToArray();
        Assert.Equal(reference.Length, ours.Length);
        int firstDifference = Enumerable.Range(0, ours.Length).FirstOrDefault(i => ours[i] != reference[i], -1);
        Assert.True(firstDifference < 0, $"the files differ first at byte {firstDifference}");
    }

    [Fact]
    public void The_checksum_is_CRC_32C()
    {
        // The check value of CRC-32C (Castagnoli) for the nine ASCII digits, as RFC 3720 and every CRC catalogue give it.
        Assert.Equal(0xE3069283u, TfRecord.Crc32C(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, TfRecord.Crc32C([]));
    }

    /// <summary>One event as Google.Protobuf reads it: wall time, step, file version and its scalars.</summary>
    sealed record ReadEvent(double WallTime, long Step, string? FileVersion, List<(string Tag, float Value)> Scalars);

    static ReadEvent Parse(byte[] payload)
    {
        var e = new ReadEvent(0, 0, null, []);
        var input = new CodedInputStream(payload);
        double wall = 0;
        long step = 0;
        string? version = null;
        for (uint tag; (tag = input.ReadTag()) != 0;)
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5: ReadSummary(input.ReadBytes(), e.Scalars); break;
                default: input.SkipLastField(); break;
            }
        return e with { WallTime = wall, Step = step, FileVersion = version };
    }

    static void ReadSummary(ByteString summary, List<(string, float)> scalars)
    {
        var input = summary.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            Assert.Equal(1, WireFormat.GetTagFieldNumber(tag)); // Summary.value
            var value = input.ReadBytes().CreateCodedInput();
            string name = "";
            float? number = null;
            string? plugin = null;
            for (uint field; (field = value.ReadTag()) != 0;)
                switch (WireFormat.GetTagFieldNumber(field))
                {
                    case 1: name = value.ReadString(); break;
                    case 8: number = ReadScalarTensor(value.ReadBytes()); break;
                    case 9: plugin = ReadPlugin(value.ReadBytes()); break;
                    default: value.SkipLastField(); break;
                }
            Assert.Equal("scalars", plugin);
            scalars.Add((name, number ?? throw new InvalidDataException($"{name} has no tensor")));
        }
    }

    static float ReadScalarTensor(ByteString tensor)
    {
        var input = tensor.CreateCodedInput();
        float? value = null;
        for (uint tag; (tag = input.ReadTag()) != 0;)
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: Assert.Equal(1, input.ReadEnum()); break; // DT_FLOAT
                case 2: Assert.True(input.ReadBytes().IsEmpty); break; // rank 0
                case 4: value = BinaryPrimitives.ReadSingleLittleEndian(input.ReadBytes().Span); break;
                default: input.SkipLastField(); break;
            }
        return value ?? throw new InvalidDataException("tensor without content");
    }

    static string? ReadPlugin(ByteString metadata)
    {
        var input = metadata.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
            if (WireFormat.GetTagFieldNumber(tag) == 1)
            {
                var data = input.ReadBytes().CreateCodedInput();
                for (uint field; (field = data.ReadTag()) != 0;)
                    if (WireFormat.GetTagFieldNumber(field) == 1) return data.ReadString();
                    else data.SkipLastField();
            }
            else input.SkipLastField();
        return null;
    }

    [Fact]
    public void An_epoch_writes_every_curve_of_the_report_at_its_epoch()
    {
        var epoch = new EpochResult(3, 0.5, 0.8, 0.6, 0.75, 0.55, TimeSpan.FromSeconds(2), 0.001);
        var monitor = new MonitorReport(3, [new LayerReport("Hidden1", 0.25, 0.002, 0.125), new LayerReport("Drop", null, null, null)], []);
        var written = new MemoryStream();
        var start = new DateTimeOffset(2026, 12, 7, 5, 0, 0, TimeSpan.Zero);
        using (var writer = new TensorBoardWriter(written, new ReplayedClock(Enumerable.Range(0, 20).Select(i => start.AddSeconds(i)))))
            writer.AddEpoch(epoch, monitor);
        var events = Records(written.ToArray()).Select(Parse).ToList();
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal(start.ToUnixTimeSeconds(), events[0].WallTime);
        var scalars = events.Skip(1).ToList();
        Assert.All(scalars, e => Assert.Equal(3, e.Step));
        Assert.Equal(start.ToUnixTimeSeconds() + 1, scalars[0].WallTime);
        var curves = scalars.SelectMany(e => e.Scalars).ToDictionary(s => s.Tag, s => s.Value);
        Assert.Equal(new Dictionary<string, float>
        {
            ["loss/train"] = 0.5f, ["loss/dev"] = 0.6f, ["loss/running"] = 0.55f, ["accuracy/train"] = 0.8f, ["accuracy/dev"] = 0.75f,
            ["learning_rate"] = 0.001f, ["gradient_norm/Hidden1"] = 0.25f, ["update_ratio/Hidden1"] = 0.002f, ["inactive_fraction/Hidden1"] = 0.125f,
        }, curves);
    }

    [Fact]
    public void Each_writer_starts_its_own_file_and_a_closed_one_refuses_more()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"netdsl-tb-{Guid.NewGuid():N}");
        try
        {
            var clock = new ReplayedClock(Enumerable.Repeat(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), 10));
            using var first = new TensorBoardWriter(directory, clock);
            using var second = new TensorBoardWriter(directory, clock);
            Assert.NotEqual(first.Path, second.Path);
            Assert.StartsWith("events.out.tfevents.1767225600.", Path.GetFileName(first.Path));
            first.AddScalar("loss/train", 1.5, 1);
            first.Dispose();
            Assert.Throws<ObjectDisposedException>(() => first.AddScalar("loss/train", 1, 2));
            Assert.Throws<ArgumentException>(() => second.AddScalar(" ", 1, 2));
            var events = Records(File.ReadAllBytes(first.Path!)).Select(Parse).ToList();
            Assert.Equal([("loss/train", 1.5f)], events[1].Scalars);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
