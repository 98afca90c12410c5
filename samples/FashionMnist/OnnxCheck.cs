using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NetDsl.Data;
using NetDsl.Training;

namespace FashionMnist;

/// <summary>--onnx: the trained network written as an ONNX model that takes the pixels as the IDX file holds them
/// divided by 255 (the scaler travels inside), then ONNX Runtime's test accuracy on it beside NetDsl's.</summary>
static class OnnxCheck
{
    public static (double OnnxRuntime, double NetDsl) Export(NetDsl.INeuralNetwork network, IFeatureScaling scaler, Dataset rawTest,
        Dataset scaledTest, string path)
    {
        var shape = network.Layers[0].OutputShape.ToArray();
        network.ExportOnnx(path, scaler,
            $"{network.Name} trained on Fashion-MNIST by NetDsl. Input: the pixels as the IDX file holds them divided by 255, shape " +
            $"[N, {string.Join(", ", shape)}]; the standardization fitted on the training set is inside the model. Output: logits [N, 10].");
        using var session = new InferenceSession(path);
        int correct = 0;
        const int batch = 1000;
        for (int start = 0; start < rawTest.Count; start += batch)
        {
            int size = Math.Min(batch, rawTest.Count - start);
            var input = new DenseTensor<float>(rawTest.Features.AsMemory(start * rawTest.FeatureSize, size * rawTest.FeatureSize), [size, .. shape]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
            var logits = results.Single().AsEnumerable<float>().ToArray();
            for (int i = 0; i < size; i++)
                if (Metrics.ArgMax(logits.AsSpan(i * 10, 10)) == rawTest.Labels[start + i]) correct++;
        }
        return ((double)correct / rawTest.Count, Metrics.Evaluate(network, scaledTest).Accuracy);
    }
}
