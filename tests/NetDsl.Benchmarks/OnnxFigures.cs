using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace NetDsl.Benchmarks;

/// <summary>`-- onnx`: ONNX Runtime, what a .NET developer picks to serve a model, against NetDsl's own
/// <c>PredictBatch</c> on the same networks exported by <c>ExportOnnx</c>, in one run. ONNX Runtime takes the better of
/// one and two intra-op threads, with its input and output tensors allocated once (the least managed overhead its API
/// allows); NetDsl predicts into a reused buffer.</summary>
public static class OnnxFigures
{
    /// <summary>One ONNX Runtime prediction of a batch into pre-allocated tensors.</summary>
    sealed class OnnxPrediction : Workload, IDisposable
    {
        readonly InferenceSession session;
        readonly RunOptions options = new();
        readonly OrtValue input, output;
        readonly string[] inputNames = ["input"], outputNames;
        readonly int batch;

        public OnnxPrediction(string path, INeuralNetwork network, int batch, int threads)
        {
            this.batch = batch;
            session = new InferenceSession(path, new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 });
            outputNames = [session.OutputMetadata.Keys.Single()];
            long[] shape = [batch, .. network.Layers[0].OutputShape.Select(d => (long)d)];
            input = OrtValue.CreateTensorValueFromMemory(RandomValues(batch * network.InputSize, 3), shape);
            output = OrtValue.CreateTensorValueFromMemory(new float[batch * network.OutputSize], [batch, network.OutputSize]);
        }

        public override int ItemsPerRun => batch;

        public override void Run() => session.Run(options, inputNames, [input], outputNames, [output]);

        public void Dispose()
        {
            input.Dispose();
            output.Dispose();
            options.Dispose();
            session.Dispose();
        }
    }

    public static void Run(TextWriter output)
    {
        var cases = new (string Name, INeuralNetwork Network, int Batch, bool Latency)[]
        {
            ("mlp-b1", new BenchMlp(), 1, true), ("mlp-b128", new BenchMlp(), 128, false),
            ("cnn-b1", new FashionMnist.FashionCnn(), 1, true), ("cnn-b64", new FashionMnist.FashionCnn(), 64, false),
        };
        foreach (var (name, network, batch, latency) in cases)
        {
            string path = Path.Combine(Path.GetTempPath(), $"netdsl-bench-{name}-{Guid.NewGuid():N}.onnx");
            network.ExportOnnx(path);
            double onnx = 0;
            foreach (int threads in new[] { 1, 2 })
            {
                using var prediction = new OnnxPrediction(path, network, batch, threads);
                onnx = Math.Max(onnx, Quick.Rate(prediction));
            }
            double netDsl = Quick.Rate(new Prediction(network, batch));
            File.Delete(path);
            string unit = latency ? "us" : "samples/s";
            double Figure(double rate) => latency ? 1e6 / rate : rate;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"onnx-{name} {Figure(netDsl):0.###} {unit} NetDsl, {Figure(onnx):0.###} {unit} ONNX Runtime: NetDsl {netDsl / onnx:0.00}x"));
        }
    }
}
