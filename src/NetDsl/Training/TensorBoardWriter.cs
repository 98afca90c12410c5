using System.Buffers.Binary;
using NetDsl.Interop;

namespace NetDsl.Training;

/// <summary>Writes a TensorBoard event file (<c>events.out.tfevents.*</c>) of scalar curves, as TensorFlow 2's
/// <c>tf.summary.scalar</c> writes them: one <c>Event</c> per value, holding a rank-0 float tensor tagged for the
/// scalars plugin, in TensorFlow's record framing. <c>tensorboard --logdir DIR</c> shows them, also while training runs
/// (each epoch is flushed). Tags group by their first '/' segment, as in TensorBoard's own dashboards.</summary>
public sealed class TensorBoardWriter : IDisposable
{
    // Field numbers of tensorboard/compat/proto: event.proto, summary.proto, tensor.proto.
    const int EventWallTime = 1, EventStep = 2, EventFileVersion = 3, EventSummary = 5;
    const int SummaryValue = 1, ValueTag = 1, ValueTensor = 8, ValueMetadata = 9;
    const int MetadataPluginData = 1, PluginName = 1;
    const int TensorDtype = 1, TensorShape = 2, TensorContent = 4, DtFloat = 1;
    const string FileVersion = "brain.Event:2", ScalarsPlugin = "scalars";

    static int filesOpened;

    readonly Stream stream;
    readonly TimeProvider time;
    bool disposed;

    /// <summary>Creates <paramref name="directory"/> when missing and starts a new event file in it, named as TensorBoard
    /// and PyTorch's <c>SummaryWriter</c> name them (time, host, process, a counter), so runs never overwrite each other.
    /// <paramref name="time"/> is the clock of the events' wall time, the system clock by default.</summary>
    public TensorBoardWriter(string directory, TimeProvider? time = null)
        : this(CreateFile(directory, time ?? TimeProvider.System, out string path), time) => Path = path;

    /// <summary>Writes the events to <paramref name="stream"/>, which the writer owns and closes.</summary>
    public TensorBoardWriter(Stream stream, TimeProvider? time = null)
    {
        this.stream = stream;
        this.time = time ?? TimeProvider.System;
        WriteEvent(new ProtoWriter().Double(EventWallTime, WallTime()).String(EventFileVersion, FileVersion));
    }

    /// <summary>The event file, when the writer made it.</summary>
    public string? Path { get; }

    static FileStream CreateFile(string directory, TimeProvider time, out string path)
    {
        Directory.CreateDirectory(directory);
        path = System.IO.Path.Combine(directory,
            $"events.out.tfevents.{time.GetUtcNow().ToUnixTimeSeconds()}.{Environment.MachineName}.{Environment.ProcessId}.{Interlocked.Increment(ref filesOpened)}");
        return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
    }

    /// <summary>Adds one point of the curve <paramref name="tag"/> (for example <c>loss/train</c>) at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, double value, long step)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        var content = new byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(content, (float)value);
        var tensor = new ProtoWriter().Int(TensorDtype, DtFloat).Message(TensorShape, new ProtoWriter()).Bytes(TensorContent, content);
        var metadata = new ProtoWriter().Message(MetadataPluginData, new ProtoWriter().String(PluginName, ScalarsPlugin));
        var summaryValue = new ProtoWriter().String(ValueTag, tag).Message(ValueTensor, tensor).Message(ValueMetadata, metadata);
        var e = new ProtoWriter().Double(EventWallTime, WallTime());
        // proto3 leaves a field at its default value out, as TensorFlow does for step 0.
        if (step != 0) e.Int(EventStep, step);
        WriteEvent(e.Message(EventSummary, new ProtoWriter().Message(SummaryValue, summaryValue)));
    }

    /// <summary>The epoch's curves at step = epoch: <c>loss/train</c>, <c>loss/dev</c>, <c>loss/running</c>,
    /// <c>accuracy/train</c>, <c>accuracy/dev</c>, <c>learning_rate</c>, and with the monitor's report of that epoch
    /// each layer's <c>gradient_norm/</c>, <c>update_ratio/</c> and <c>inactive_fraction/</c>; then flushes.</summary>
    public void AddEpoch(EpochResult epoch, MonitorReport? monitor = null)
    {
        int step = epoch.Epoch;
        AddScalar("loss/train", epoch.TrainLoss, step);
        if (epoch.DevLoss is double devLoss) AddScalar("loss/dev", devLoss, step);
        AddScalar("loss/running", epoch.RunningLoss, step);
        AddScalar("accuracy/train", epoch.TrainAccuracy, step);
        if (epoch.DevAccuracy is double devAccuracy) AddScalar("accuracy/dev", devAccuracy, step);
        if (!double.IsNaN(epoch.LearningRate)) AddScalar("learning_rate", epoch.LearningRate, step);
        foreach (var layer in monitor?.Layers ?? [])
        {
            if (layer.GradientNorm is double norm) AddScalar($"gradient_norm/{layer.Layer}", norm, step);
            if (layer.UpdateRatio is double ratio) AddScalar($"update_ratio/{layer.Layer}", ratio, step);
            if (layer.InactiveFraction is double inactive) AddScalar($"inactive_fraction/{layer.Layer}", inactive, step);
        }
        Flush();
    }

    /// <summary>Pushes the events written so far to the file, where TensorBoard picks them up.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        stream.Flush();
    }

    /// <summary>Closes the event file.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        stream.Dispose();
    }

    /// <summary>Seconds since 1970 from whole microseconds, as TensorFlow computes an event's wall time.</summary>
    double WallTime() => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond / 1e6;

    void WriteEvent(ProtoWriter e) => TfRecord.Write(stream, e.ToArray());
}
