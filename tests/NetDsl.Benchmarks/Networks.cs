using NetDsl;

namespace NetDsl.Benchmarks;

/// <summary>The sample's MLP without its dropout, as libtorch measures it: 784-256-128-10, ReLU, softmax cross-entropy.
/// The CNN is the sample's own (FashionMnist.FashionCnn).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class BenchMlp
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(256, Init = Init.He)] public partial Layer Hidden1 { get; }
    [ReLU] public partial Layer Act1 { get; }
    [Dense(128, Init = Init.He)] public partial Layer Hidden2 { get; }
    [ReLU] public partial Layer Act2 { get; }
    [Dense(10, Init = Init.Xavier)] public partial Layer Logits { get; }
}

/// <summary>SimpleChains.jl's tiny benchmark network: 4-32-16-4 with tanh, trained on mean squared error.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class TinyMlp
{
    [Input(4)] public partial Layer Features { get; }
    [Dense(32, Init = Init.Xavier)] public partial Layer Hidden1 { get; }
    [Tanh] public partial Layer Act1 { get; }
    [Dense(16, Init = Init.Xavier)] public partial Layer Hidden2 { get; }
    [Tanh] public partial Layer Act2 { get; }
    [Dense(4, Init = Init.Xavier)] public partial Layer Prediction { get; }
}

/// <summary>The GPU issue's narrow MLP in the tiny-cuda-nn style: 64 wide, four hidden ReLU layers, mean squared error.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class NarrowMlp
{
    [Input(64)] public partial Layer Features { get; }
    [Dense(64, Init = Init.He)] public partial Layer Hidden1 { get; }
    [ReLU] public partial Layer Act1 { get; }
    [Dense(64, Init = Init.He)] public partial Layer Hidden2 { get; }
    [ReLU] public partial Layer Act2 { get; }
    [Dense(64, Init = Init.He)] public partial Layer Hidden3 { get; }
    [ReLU] public partial Layer Act3 { get; }
    [Dense(64, Init = Init.He)] public partial Layer Hidden4 { get; }
    [ReLU] public partial Layer Act4 { get; }
    [Dense(16, Init = Init.Xavier)] public partial Layer Prediction { get; }
}
