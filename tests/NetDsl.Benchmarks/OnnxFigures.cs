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

    /// <summary>NetDsl's int8 predictions against the MLP quantized as ONNX Runtime's dynamic quantization writes it.</summary>
    static void RunQuantized(TextWriter output)
    {
        var network = new BenchMlp { InferencePrecision = InferencePrecision.Int8 };
        string path = Path.Combine(Path.GetTempPath(), $"netdsl-bench-int8-{Guid.NewGuid():N}.onnx");
        QuantizedOnnx.Write(path, network);
        // The same network: ONNX Runtime's int8 outputs against NetDsl's float ones on 128 samples (quantization error only).
        using (var check = new InferenceSession(path))
        {
            var inputs = Workload.RandomValues(128 * 784, 5);
            var expected = new float[128 * 10];
            network.InferencePrecision = InferencePrecision.Float32;
            network.PredictBatch(inputs, expected);
            network.InferencePrecision = InferencePrecision.Int8;
            using var results = check.Run([NamedOnnxValue.CreateFromTensor("input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(inputs, [128, 784]))]);
            var actual = results.Single().AsEnumerable<float>().ToArray();
            double scale = expected.Max(Math.Abs), worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"onnx-mlp-int8-error {worst / scale:0.####} of the largest float output"));
        }
        Compare(output, "mlp-int8-b1", path, network, 1, latency: true);
        Compare(output, "mlp-int8-b128", path, network, 128, latency: false);
        File.Delete(path);
    }

    public static void Run(TextWriter output)
    {
        RunQuantized(output);
        var cases = new (string Name, INeuralNetwork Network, int Batch, bool Latency)[]
        {
            ("mlp-b1", new BenchMlp(), 1, true), ("mlp-b128", new BenchMlp(), 128, false),
            ("cnn-b1", new FashionMnist.FashionCnn(), 1, true), ("cnn-b64", new FashionMnist.FashionCnn(), 64, false),
        };
        foreach (var (name, network, batch, latency) in cases)
        {
            string path = Path.Combine(Path.GetTempPath(), $"netdsl-bench-{name}-{Guid.NewGuid():N}.onnx");
            network.ExportOnnx(path);
            Compare(output, name, path, network, batch, latency);
            File.Delete(path);
        }
    }

    /// <summary>Times ONNX Runtime on the model at <paramref name="path"/> (the better of one and two threads) against
    /// <paramref name="network"/>'s own predictions and writes one line: microseconds per call where
    /// <paramref name="latency"/>, samples per second otherwise.</summary>
    static void Compare(TextWriter output, string name, string path, INeuralNetwork network, int batch, bool latency)
    {
        double onnx = 0;
        foreach (int threads in new[] { 1, 2 })
        {
            using var prediction = new OnnxPrediction(path, network, batch, threads);
            onnx = Math.Max(onnx, Quick.Rate(prediction));
        }
        double netDsl = Quick.Rate(new Prediction(network, batch));
        string unit = latency ? "us" : "samples/s";
        double Figure(double rate) => latency ? 1e6 / rate : rate;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"onnx-{name} {Figure(netDsl):0.###} {unit} NetDsl, {Figure(onnx):0.###} {unit} ONNX Runtime: NetDsl {netDsl / onnx:0.00}x"));
    }
}

/// <summary>The MLP as ONNX Runtime's dynamic quantization (<c>quantize_dynamic</c>) writes it: each Dense layer's input
/// quantized per batch to uint8 (<c>DynamicQuantizeLinear</c>), its weights to int8 with one symmetric scale, the product
/// in integers (<c>MatMulInteger</c>), then scaled back to float for the bias and the activation.</summary>
static class QuantizedOnnx
{
    public static void Write(string path, BenchMlp network)
    {
        var graph = new NetDsl.Interop.OnnxGraph("BenchMlpInt8", "input", [784]);
        var theta = network.Parameters;
        string x = "input";
        foreach (var (name, inputs, units, offset, bias, relu) in new[]
        {
            ("Hidden1", 784, 256, BenchMlp.Hidden1WeightOffset, BenchMlp.Hidden1BiasOffset, true),
            ("Hidden2", 256, 128, BenchMlp.Hidden2WeightOffset, BenchMlp.Hidden2BiasOffset, true),
            ("Logits", 128, 10, BenchMlp.LogitsWeightOffset, BenchMlp.LogitsBiasOffset, false),
        })
        {
            var weights = theta.Slice(offset, units * inputs);
            float scale = 0;
            foreach (float value in weights) scale = Math.Max(scale, Math.Abs(value));
            scale = scale == 0 ? 1 : scale / 127;
            // Stored transposed, [inputs, units], for x · W.
            var quantized = new byte[inputs * units];
            for (int u = 0; u < units; u++)
                for (int i = 0; i < inputs; i++)
                    quantized[i * units + u] = unchecked((byte)(sbyte)Math.Clamp(Math.Round(weights[u * inputs + i] / scale), -127, 127));
            // The quantized input, its scale and its zero point.
            string q = $"{name}.x_q", xScale = $"{name}.x_scale", xZero = $"{name}.x_zero";
            graph.Node("DynamicQuantizeLinear", [q, xScale, xZero], [x]);
            string w = graph.RawInitializer($"{name}.weight_quantized", NetDsl.Interop.OnnxElementType.Int8, [inputs, units], quantized);
            string wZero = graph.RawInitializer($"{name}.weight_zero", NetDsl.Interop.OnnxElementType.Int8, [], [0]);
            string product = graph.Node("MatMulInteger", $"{name}.product", [q, w, xZero, wZero]);
            string asFloat = graph.Node("Cast", $"{name}.float", [product], NetDsl.Interop.OnnxAttribute.Of("to", (long)NetDsl.Interop.OnnxElementType.Float));
            string combined = graph.Node("Mul", $"{name}.scale", [xScale, graph.Initializer($"{name}.weight_scale", [], [scale])]);
            string scaled = graph.Node("Mul", $"{name}.scaled", [asFloat, combined]);
            x = graph.Node("Add", name, [scaled, graph.Initializer($"{name}.bias", [units], theta.Slice(bias, units))]);
            if (relu) x = graph.Node("Relu", $"{name}.relu", [x]);
        }
        graph.Output(x, "logits", [10]);
        graph.Save(path, "BenchMlp quantized as ONNX Runtime's quantize_dynamic does it, for the int8 comparison.");
    }
}
