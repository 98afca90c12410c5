using BenchmarkDotNet.Attributes;

namespace NetDsl.Benchmarks;

/// <summary>Training step of the reference MLP with Adam; one operation = one sample.</summary>
[MemoryDiagnoser]
public class MlpTrainingStep
{
    TrainingStep step = null!;

    [Params(32, 128, 1024)] public int Batch { get; set; }

    [GlobalSetup] public void Setup() => step = new TrainingStep(new BenchMlp(), Batch, true);

    [Benchmark] public void Step() => step.Run();
}

/// <summary>Single-sample inference of the reference MLP, in float and with int8 Dense layers.</summary>
[MemoryDiagnoser]
public class MlpInference
{
    Prediction prediction = null!;

    [Params(InferencePrecision.Float32, InferencePrecision.Int8)] public InferencePrecision Precision { get; set; }

    [GlobalSetup] public void Setup() => prediction = new(new BenchMlp { InferencePrecision = Precision }, 1);

    [Benchmark] public void PredictOne() => prediction.Run();
}

/// <summary>The 2048 Dense layer forward and backward (3 · 2 · 2048³ floating-point operations per call).</summary>
[MemoryDiagnoser]
public class DenseLayer2048
{
    readonly DenseLayer layer = new(2048);

    [Benchmark] public void ForwardBackward() => layer.Run();
}

/// <summary>Training step of the Fashion CNN at batch 64.</summary>
[MemoryDiagnoser]
public class CnnTrainingStep
{
    readonly TrainingStep step = new(new FashionMnist.FashionCnn(), 64, true);

    [Benchmark] public void Step() => step.Run();
}

/// <summary>The tiny 4-32-16-4 tanh MLP with MSE, where per-call overhead dominates.</summary>
[MemoryDiagnoser]
public class TinyTrainingStep
{
    TrainingStep step = null!;

    [Params(1, 64)] public int Batch { get; set; }

    [GlobalSetup] public void Setup() => step = new TrainingStep(new TinyMlp(), Batch, false);

    [Benchmark] public void Step() => step.Run();
}
